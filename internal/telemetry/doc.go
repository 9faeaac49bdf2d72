// Package telemetry sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables: off unless an OTLP endpoint is configured, W3C
// trace context and baggage propagation always. The tracer provider and the
// propagator it returns are passed explicitly to the packages that make
// spans; nothing here sets OpenTelemetry's globals.
package telemetry
