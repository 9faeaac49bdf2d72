# Shortcuts; each target is one documented command.
.PHONY: run test fuzz ci bench bench-embedded docs-assets

run:            ## serve on :8080 with SQLite in ./data
	go run ./cmd/authd

test:           ## the README's test command
	go test ./...

fuzz:           ## a burst of every fuzz target, FUZZTIME (10s) each
	scripts/fuzz

ci:             ## what CI runs (starts PostgreSQL, Redis and the Redis Cluster if needed)
	.ci/run

bench:          ## the load suite against PostgreSQL + Redis on loopback (see BENCHMARKS.md)
	scripts/bench $(ARGS)

bench-embedded: ## the load suite against embedded SQLite + in-process cache
	scripts/bench --embedded $(ARGS)

docs-assets:    ## re-vendor Swagger UI for GET /docs into internal/httpapi/docs/ (needs npm)
	scripts/vendor-swagger-ui
