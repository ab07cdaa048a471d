"""Write the generated configs (rules, dashboards, collector) from the names contract."""
