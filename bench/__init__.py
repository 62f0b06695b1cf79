"""``make bench``: PixyProxy measured against its own pipeline and a static file server."""

PROMPT = "a lighthouse at dusk, oil painting"
DATABASES = {
    "main": "pixyproxy_bench",
    "batch": "pixyproxy_bench_batch",
    "list": "pixyproxy_bench_list",
    "scale": "pixyproxy_bench_scale",
    "ceiling": "pixyproxy_bench_ceiling",
    "ceiling_distributed": "pixyproxy_bench_ceiling_dist",
    "models": "pixyproxy_bench_models",
}
