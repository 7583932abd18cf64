option task = {name: "quantx_db/cq_risk_metrics_1d", every: 1d}

data = from(bucket: "quantx_db/30_days_hourly")
  |> range(start: -2d)
  |> filter(fn: (r) => r._measurement == "risk_metrics")

union(tables: [
  data |> filter(fn: (r) => r._field == "var_95_count" or r._field == "var_99_count" or r._field == "cvar_95_count" or r._field == "cvar_99_count" or r._field == "volatility_count" or r._field == "correlation_count" or r._field == "beta_count" or r._field == "tracking_error_count" or r._field == "var_95_sum" or r._field == "var_99_sum" or r._field == "cvar_95_sum" or r._field == "cvar_99_sum" or r._field == "volatility_sum" or r._field == "correlation_sum" or r._field == "beta_sum" or r._field == "tracking_error_sum") |> aggregateWindow(every: 1d, fn: sum, timeSrc: "_start", createEmpty: false),
  data |> filter(fn: (r) => r._field == "var_95_sum" or r._field == "var_95_count") |> aggregateWindow(every: 1d, fn: sum, timeSrc: "_start", createEmpty: false)
    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
    |> filter(fn: (r) => exists r.var_95_sum and exists r.var_95_count and r.var_95_count > 0)
    |> map(fn: (r) => ({r with _field: "var_95", _value: float(v: r.var_95_sum) / float(v: r.var_95_count)}))
    |> drop(columns: ["var_95_sum", "var_95_count"]),
  data |> filter(fn: (r) => r._field == "var_99_sum" or r._field == "var_99_count") |> aggregateWindow(every: 1d, fn: sum, timeSrc: "_start", createEmpty: false)
    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
    |> filter(fn: (r) => exists r.var_99_sum and exists r.var_99_count and r.var_99_count > 0)
    |> map(fn: (r) => ({r with _field: "var_99", _value: float(v: r.var_99_sum) / float(v: r.var_99_count)}))
    |> drop(columns: ["var_99_sum", "var_99_count"]),
  data |> filter(fn: (r) => r._field == "cvar_95_sum" or r._field == "cvar_95_count") |> aggregateWindow(every: 1d, fn: sum, timeSrc: "_start", createEmpty: false)
    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
    |> filter(fn: (r) => exists r.cvar_95_sum and exists r.cvar_95_count and r.cvar_95_count > 0)
    |> map(fn: (r) => ({r with _field: "cvar_95", _value: float(v: r.cvar_95_sum) / float(v: r.cvar_95_count)}))
    |> drop(columns: ["cvar_95_sum", "cvar_95_count"]),
  data |> filter(fn: (r) => r._field == "cvar_99_sum" or r._field == "cvar_99_count") |> aggregateWindow(every: 1d, fn: sum, timeSrc: "_start", createEmpty: false)
    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
    |> filter(fn: (r) => exists r.cvar_99_sum and exists r.cvar_99_count and r.cvar_99_count > 0)
    |> map(fn: (r) => ({r with _field: "cvar_99", _value: float(v: r.cvar_99_sum) / float(v: r.cvar_99_count)}))
    |> drop(columns: ["cvar_99_sum", "cvar_99_count"]),
  data |> filter(fn: (r) => r._field == "volatility_sum" or r._field == "volatility_count") |> aggregateWindow(every: 1d, fn: sum, timeSrc: "_start", createEmpty: false)
    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
    |> filter(fn: (r) => exists r.volatility_sum and exists r.volatility_count and r.volatility_count > 0)
    |> map(fn: (r) => ({r with _field: "volatility", _value: float(v: r.volatility_sum) / float(v: r.volatility_count)}))
    |> drop(columns: ["volatility_sum", "volatility_count"]),
  data |> filter(fn: (r) => r._field == "correlation_sum" or r._field == "correlation_count") |> aggregateWindow(every: 1d, fn: sum, timeSrc: "_start", createEmpty: false)
    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
    |> filter(fn: (r) => exists r.correlation_sum and exists r.correlation_count and r.correlation_count > 0)
    |> map(fn: (r) => ({r with _field: "correlation", _value: float(v: r.correlation_sum) / float(v: r.correlation_count)}))
    |> drop(columns: ["correlation_sum", "correlation_count"]),
  data |> filter(fn: (r) => r._field == "beta_sum" or r._field == "beta_count") |> aggregateWindow(every: 1d, fn: sum, timeSrc: "_start", createEmpty: false)
    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
    |> filter(fn: (r) => exists r.beta_sum and exists r.beta_count and r.beta_count > 0)
    |> map(fn: (r) => ({r with _field: "beta", _value: float(v: r.beta_sum) / float(v: r.beta_count)}))
    |> drop(columns: ["beta_sum", "beta_count"]),
  data |> filter(fn: (r) => r._field == "tracking_error_sum" or r._field == "tracking_error_count") |> aggregateWindow(every: 1d, fn: sum, timeSrc: "_start", createEmpty: false)
    |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
    |> filter(fn: (r) => exists r.tracking_error_sum and exists r.tracking_error_count and r.tracking_error_count > 0)
    |> map(fn: (r) => ({r with _field: "tracking_error", _value: float(v: r.tracking_error_sum) / float(v: r.tracking_error_count)}))
    |> drop(columns: ["tracking_error_sum", "tracking_error_count"]),
])
  |> to(bucket: "quantx_db/1_year_daily")
