"""How the client sends one HTTP request: how long it waits, when it tries again, and what it says when it
gives up.

- **Waits fit the work.** The caller passes the timeout (the client scales it with the size of a
  registration); a request that gets no answer in time is reported as such, not as "cannot reach".
- **Retries only where they cannot do harm.** urllib reports failures while the request is being sent as
  `URLError`: the server did not get it whole, so nothing happened, and a reset or abort there is retried
  for any request. Once the request is sent, a lost connection (reset, closed without an answer) is retried
  only for an idempotent request, as are 429/502/503/504 answers (throttling, a gateway's timeout).
  Backoff is exponential with jitter. A read timeout is never retried: the server may still be working,
  and sending the work again only adds to its load; the message says what happened and whether running
  the command again is safe.
- Connection refused is not retried: nothing listens there, which is what the user has to fix.
"""

from __future__ import annotations

import http.client
import random
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.errors import UserError

RETRY_STATUSES = frozenset({429, 502, 503, 504})
_RESETS = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)
_LOST = (*_RESETS, http.client.HTTPException)  # RemoteDisconnected, IncompleteRead, BadStatusLine, …


@dataclass(frozen=True)
class Attempts:
    """How one request is sent: `timeout` seconds to connect and between bytes of the answer, at most
    `tries` sends, `backoff` seconds before the second (doubling, plus up to half again of jitter)."""

    timeout: float
    tries: int = 4
    backoff: float = 0.5
    idempotent: bool = False
    rerun_hint: str = ""  # what to tell the user about running the command again, if it gives up

    def hint(self) -> str:
        if self.rerun_hint:
            return self.rerun_hint
        if self.idempotent:
            return "running the command again is safe"
        return "check whether it took effect before running the command again"


def send(request: urllib.request.Request, attempts: Attempts, server: str,
         on_send: Callable[[], None] | None = None) -> bytes:
    """The body of the answer to `request`. An error status the caller should see raises
    `urllib.error.HTTPError`; a transport failure that retries did not cure raises `UserError`, naming
    `server` and what happened."""
    what = f"{request.get_method()} {urllib.parse.urlsplit(request.full_url).path}"
    for attempt in range(1, attempts.tries + 1):
        last = attempt == attempts.tries
        if on_send is not None:
            on_send()
        try:
            with urllib.request.urlopen(request, timeout=attempts.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if last or not attempts.idempotent or exc.code not in RETRY_STATUSES:
                raise
            exc.close()
        except urllib.error.URLError as exc:  # while sending: the server did not get the request whole
            _unsent(exc.reason, server, what, attempt, last, attempts.timeout)
        except TimeoutError:
            raise UserError(f"the control plane at [{server}] did not answer {what} within {attempts.timeout:g}s; "
                            f"it may still be completing it: {attempts.hint()}") from None
        except _LOST as exc:  # sent; the answer did not come back whole
            if last or not attempts.idempotent:
                raise UserError(f"the connection to the control plane at [{server}] was lost before it answered "
                                f"{what} ({type(exc).__name__}: {exc}; {attempt} tries); {attempts.hint()}") from None
        except OSError as exc:
            raise UserError(_unreachable(server, exc)) from None
        delay = attempts.backoff * 2 ** (attempt - 1)
        time.sleep(delay + random.uniform(0, delay / 2))
    raise AssertionError("unreachable: the last try returns or raises")


def _unsent(reason: object, server: str, what: str, attempt: int, last: bool, timeout: float) -> None:
    """Return to try again after a reset while sending; raise the user's error for any other failure."""
    if isinstance(reason, TimeoutError):
        raise UserError(f"the control plane at [{server}] did not accept a connection within {timeout:g}s "
                        f"({what}); it is overloaded or unreachable, and the request was not sent; try again") from None
    if not isinstance(reason, _RESETS):
        raise UserError(_unreachable(server, reason)) from None
    if last:
        raise UserError(f"the control plane at [{server}] reset the connection {attempt} times before {what} "
                        f"reached it ({reason}); nothing was done: try again") from None


def _unreachable(server: str, reason: object) -> str:
    return (f"cannot reach the control plane at [{server}] ({reason}); is the sandbox running? "
            "`slipstream sandbox start`")
