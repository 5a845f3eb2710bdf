"""Alert rules: YAML models and loader, pure evaluation, the alert lifecycle, rule tests, backtest."""
