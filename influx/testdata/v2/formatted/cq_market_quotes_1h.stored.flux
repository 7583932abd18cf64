option task = {name: "quantx_db/cq_market_quotes_1h", every: 1h}

data =
    from(bucket: "quantx_db/7_days_detailed")
        |> range(start: -3h)
        |> filter(fn: (r) => r._measurement == "market_quotes")

union(
    tables: [
        data
            |> filter(fn: (r) => r._field == "open")
            |> aggregateWindow(every: 1h, fn: first, timeSrc: "_start", createEmpty: false),
        data
            |> filter(fn: (r) => r._field == "high")
            |> aggregateWindow(every: 1h, fn: max, timeSrc: "_start", createEmpty: false),
        data
            |> filter(fn: (r) => r._field == "low")
            |> aggregateWindow(every: 1h, fn: min, timeSrc: "_start", createEmpty: false),
        data
            |> filter(fn: (r) => r._field == "close" or r._field == "last")
            |> aggregateWindow(every: 1h, fn: last, timeSrc: "_start", createEmpty: false),
        data
            |> filter(fn: (r) => r._field == "bid" or r._field == "ask")
            |> aggregateWindow(every: 1h, fn: mean, timeSrc: "_start", createEmpty: false),
        data
            |> filter(fn: (r) => r._field == "volume")
            |> aggregateWindow(every: 1h, fn: sum, timeSrc: "_start", createEmpty: false),
        data
            |> filter(
                fn: (r) =>
                    r._field == "open" or r._field == "high" or r._field == "low" or r._field
                        ==
                        "close" or r._field == "last" or r._field == "bid" or r._field == "ask"
                        or
                        r._field == "volume",
            )
            |> aggregateWindow(every: 1h, fn: count, timeSrc: "_start", createEmpty: false)
            |> map(fn: (r) => ({r with _field: r._field + "_count"})),
        data
            |> filter(fn: (r) => r._field == "bid" or r._field == "ask")
            |> aggregateWindow(every: 1h, fn: sum, timeSrc: "_start", createEmpty: false)
            |> map(fn: (r) => ({r with _field: r._field + "_sum"})),
    ],
)
    |> to(bucket: "quantx_db/30_days_hourly")
