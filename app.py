"""The control plane's HTTP API and event handlers (AWS Lambda behind API Gateway, or served locally
by the sandbox). Each route is a few lines that delegate to chalicelib."""

from chalice import Chalice

app = Chalice(app_name="slipstream")


@app.route("/api/v1/health", methods=["GET"])
def health() -> dict[str, str]:
    return {"status": "ok"}
