"""Demo traffic: three multi-persona workflows sent through hypertool_agent."""
