"""Development tools that run the real package locally: the demo, the enactors and the local sweep.

They need moto and a checkout (the demo replays the checkout's events/), so they live outside the Lambda
layer; the `remediator` command imports them only for `remediator demo` and `remediator sweep`.
"""
