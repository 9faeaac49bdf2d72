package infra
