"""localstripe (PyPI `localstripe` 1.15) with two gaps filled so the pay page's Stripe.js flow can be
tested against it; run as a script: `python tests/fakes/localstripe_server.py --port N`.

1. Store in memory only. localstripe keeps its store in /tmp/localstripe.pickle, one file for every
   instance on the machine, rewritten on each change: two instances (parallel test runs) corrupt each
   other ("EOFError: Ran out of input" at start) and a test could see another's objects.
2. Client-side confirmation of a PaymentIntent, as Stripe.js does it. SOURCE: Stripe API reference,
   "Confirm a PaymentIntent" (https://docs.stripe.com/api/payment_intents/confirm) and "Finalize
   payments on the client" (https://docs.stripe.com/payments/accept-a-payment-deferred): the browser
   POSTs `/v1/payment_intents/{id}/confirm` authenticated by the publishable key (`key=pk_...`) and the
   intent's `client_secret`, with the card as `payment_method_data[type]=card&payment_method_data[card]
   [number]=...`; the answer is the intent (`requires_capture` for manual capture) or a 402 card error.
   localstripe answers that call with 500 "Not implemented", and its fake Stripe.js
   `confirmCardPayment` ignores the card Element (it only completes a 3-D Secure challenge). Here the
   endpoint accepts the documented shape, and the served Stripe.js gets a `confirmCardPayment` that sends
   it from the Element's fields (the card goes from the browser to "Stripe", never to our server).
"""

from __future__ import annotations

import re
import sys

import localstripe.resources as resources
from localstripe.errors import UserError

resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]

PaymentIntent = resources.PaymentIntent
_server_confirm = PaymentIntent._api_confirm


def _confirm(
    id: str,  # localstripe's name
    payment_method: str | None = None,
    client_secret: str | None = None,
    payment_method_data: dict | None = None,
    **kwargs: object,
) -> object:
    for ignored in ("use_stripe_sdk", "expected_payment_method_type", "return_url"):
        kwargs.pop(ignored, None)
    if client_secret is None and payment_method_data is None:
        return _server_confirm(id, payment_method=payment_method, **kwargs)
    if kwargs:
        raise UserError(400, "Unexpected " + ", ".join(kwargs))
    intent = PaymentIntent._api_retrieve(id)
    if client_secret != intent.client_secret:
        raise UserError(401, "Unauthorized")
    if intent.status not in ("requires_payment_method", "requires_confirmation"):
        raise UserError(
            400,
            f"This PaymentIntent's status is {intent.status}; it cannot be confirmed.",
            {"code": "payment_intent_unexpected_state"},
        )
    if payment_method_data is not None:
        intent.payment_method = resources.PaymentMethod._api_create(**payment_method_data).id
    intent.latest_charge = None  # a retry after a decline is a new attempt
    intent._confirm(on_failure_now=intent._report_failure)
    return intent


for i, (method, url, _func) in enumerate(resources.extra_apis):
    if url == "/v1/payment_intents/{id}/confirm":
        resources.extra_apis[i] = (method, url, _confirm)

from localstripe import server  # noqa: E402  (after the routes above are patched)

# Stripe.js's confirmCardPayment as it goes over the wire (see the module docstring), on top of
# localstripe's fake Element (its inputs: number, exp_month, exp_year, cvc, postal_code).
_CONFIRM_JS = r"""
;(function () {
  const base = LOCALSTRIPE_BASE_API;
  const original = Stripe;
  Stripe = function (apiKey) {
    const stripe = original(apiKey);
    stripe.confirmCardPayment = async function (clientSecret, data) {
      const pi = clientSecret.match(/^(pi_\w+)_secret_/)[1];
      const body = new URLSearchParams({key: apiKey, client_secret: clientSecret});
      const pm = (data && data.payment_method) || {};
      const card = pm.card && pm.card.value && pm.card.value.card;
      if (card) {
        body.set('payment_method_data[type]', 'card');
        for (const field of ['number', 'exp_month', 'exp_year', 'cvc']) {
          body.set('payment_method_data[card][' + field + ']', card[field]);
        }
        const email = pm.billing_details && pm.billing_details.email;
        if (email) body.set('payment_method_data[billing_details][email]', email);
      }
      try {
        const response = await fetch(base + '/v1/payment_intents/' + pi + '/confirm', {method: 'POST', body});
        const answer = await response.json().catch(() => ({}));
        if (response.status !== 200 || answer.error) {
          return {error: answer.error || {message: 'HTTP ' + response.status}};
        }
        return {paymentIntent: answer};
      } catch (err) {
        return {error: {message: String(err)}};
      }
    };
    return stripe;
  };
})();
"""

_CLIENT_PATHS = re.compile(r"^/v1/payment_intents/\w+/confirm$")


@server.web.middleware
async def _client_confirm_auth(request, handler):  # type: ignore[no-untyped-def]
    """Stripe's publishable-key authentication for the client-side confirm; localstripe's own rules for
    everything else. Also serves the fake Stripe.js with the client-side confirm added."""
    if request.method == "GET" and request.path == "/js.stripe.com/v3/":
        response = server.localstripe_js(request)
        return server.web.Response(text=response.text + _CONFIRM_JS, content_type="application/javascript")
    if request.method == "POST" and _CLIENT_PATHS.match(request.path):
        data = await server.get_post_data(request, remove_auth=False) or {}
        if str(data.get("key", "")).startswith("pk_") and data.get("client_secret"):
            return await handler(request)
    return await server.auth_middleware(request, handler)


server.app.middlewares[server.app.middlewares.index(server.auth_middleware)] = _client_confirm_auth

if __name__ == "__main__":
    sys.exit(server.start())
