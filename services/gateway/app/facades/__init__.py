"""Compatible front doors: AUTOMATIC1111's API (`/sdapi/v1/...`) and OpenAI's Images API
(`/v1/images/...`, `/v1/models`) for clients written against those, unmodified.

They translate and nothing more: every request becomes native job calls to pre_inference
(`native.py`), made as the caller, so auth, tier limits, rate limits, quotas, priority and
idempotency are the native API's own. Each facade answers in its original's shapes, errors
included (`errors.py` renders them per facade).
"""
