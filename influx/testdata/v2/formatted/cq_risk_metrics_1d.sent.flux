option task = {name: "quantx_db/cq_risk_metrics_1d", every: 1d}

data = from(bucket: "quantx_db/30_days_hourly")
  |> range(start: -2d)
  |> filter(fn: (r) => r._measurement == "risk_metrics")

data |> filter(fn: (r) => r._field == "var_95" or r._field == "var_99" or r._field == "cvar_95" or r._field == "cvar_99" or r._field == "volatility" or r._field == "correlation" or r._field == "beta" or r._field == "tracking_error") |> aggregateWindow(every: 1d, fn: mean, timeSrc: "_start", createEmpty: false)
  |> to(bucket: "quantx_db/1_year_daily")
