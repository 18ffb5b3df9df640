"""`slipstream console [--stage S]`: open the console of a deployed stage (or of the configured control plane).

The sandbox serves its console itself (`slipstream sandbox start` prints the URL; no login). A deployed API is
IAM-authorized, so this command runs slipstream.console_proxy on 127.0.0.1, which signs the page's calls with
the user's AWS credentials.
"""

from __future__ import annotations

import time

import click


def _stage_api_url(stage: str, region: str | None) -> tuple[str, str]:
    """The ApiUrl output of the stage's stack, and its region."""
    from slipstream.cli.deploy import _deployer, _region, _stack

    resolved = _region(region)
    outputs = _deployer(_stack(stage, None, resolved), resolved).outputs()
    if not outputs.get("ApiUrl"):
        raise click.ClickException(f"the stack of stage [{stage}] has no ApiUrl output; deploy it with "
                                   f"`slipstream deploy --stage {stage}`")
    return outputs["ApiUrl"], resolved


@click.command("console")
@click.option("--stage", help="A deployed stage (its stack's API); default: the control plane the CLI uses.")
@click.option("--region", help="The stage's region (default: AWS_REGION or the profile's).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--open/--no-open", "open_browser", default=True, help="Open the page in a web browser.")
def console(stage: str | None, region: str | None, port: int, open_browser: bool) -> None:
    """Serve the console on 127.0.0.1, signing its API calls with your AWS credentials (Ctrl-C stops it)."""
    from slipstream.config import load_config
    from slipstream.console_proxy import ConsoleProxy, sigv4_signer

    if stage:
        api_url, region = _stage_api_url(stage, region)
        signed = True
    else:
        config = load_config()
        api_url, region, signed = config.api_url, region or config.region, config.auth == "sigv4"
    if not signed:
        click.echo(f"the control plane at {api_url} needs no signing: its console is {api_url}/console/index.html")
        return
    try:
        proxy = ConsoleProxy(api_url, sigv4_signer(region), port).start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port} ({exc}); pick another with --port") from None
    click.echo(f"console: {proxy.url} (API {api_url}, signed with your AWS credentials; Ctrl-C stops it)")
    if open_browser:
        import webbrowser

        webbrowser.open(proxy.url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        proxy.stop()
