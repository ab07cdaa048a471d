module github.com/hypertool-observability/hypertool/collector/genaiprices

go 1.26.0
