"""The worker loop: RabbitMQ in, images and events out.

One thread owns the connection (pika is not thread-safe); generation runs on a single
GPU thread. While it runs, the connection thread keeps servicing heartbeats, receiving
cancellations and publishing coalesced progress, so progress can never stall the GPU.
The GPU thread wakes the connection thread the moment a batch ends (``Wakeup``), so a
finished job is settled at once rather than at the next progress tick.

Batching: prefetch is ATELIER_MAX_BATCH, so a backlog is visible; deliveries that arrive
within ATELIER_BATCH_WINDOW_MS of the first are grouped by jobs.batch_key and each group
runs as one pipeline call (at most ATELIER_MAX_BATCH images).

Delivery guarantees: each job's outcome (`succeeded`/`failed`) is confirmed by the broker
before that job is acked. A job that arrives `redelivered` was being worked on by a
worker that died (or lost its connection); it is republished with its attempt count
raised, and given up as `worker_crashed` (and dead-lettered) past the limit.
"""
from __future__ import annotations

import logging
import os
import random
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

import pika
import pika.exceptions

from atelier_contracts import ContractError, Envelope, decode
from atelier_messaging.connection import connect
from atelier_messaging.publisher import PublishError, Publisher
from atelier_messaging.topology import EVENTS_EXCHANGE, JOBS_EXCHANGE, declare_topology, jobs_queue

from . import events, loras, metrics
from .cancellations import CanceledJobs
from .config import Settings
from .deliveries import Delivery, close_job_span, group_jobs, open_job_span
from .jobs import JobCanceled, JobFailure, JobResult, Storage, check_params, run_batch
from .model_holder import ModelHolder
from .model_pool import ModelPool, UnknownModel, device_memory, device_name, pool_for
from .pipeline import LoadedPipeline, ModelLoadError
from .probe import Heartbeat
from .progress import ProgressBoard

log = logging.getLogger("atelier.inference.worker")

JOB_TYPE = "inference.job.requested"
JOB_VERSIONS = (1, 2)  # v2: params may name LoRAs
CANCELED_KEY = "pre_inference.job.canceled.v1"
# How often progress is published while a batch runs (coalesced in between). Not a wait for
# the batch's end: that wakes the connection thread at once (Wakeup).
PROGRESS_EVERY_S = 0.2
IDLE_WAKEUP_S = 1.0
MAX_BACKOFF_S = 30.0
CONFIRM_TRIES = 3
BROKER_ERRORS = (pika.exceptions.AMQPError, OSError)


class BrokerUnavailable(Exception):
    pass


class Wakeup:
    """Ends the connection thread's ``process_data_events`` wait from another thread.

    pika's one thread-safe entry point, ``add_callback_threadsafe``, queues a callback and
    wakes the connection's I/O loop; ``process_data_events`` returns as soon as it has run
    one, so the connection thread sees a finished batch without polling for it."""

    def __init__(self, connection: Any):
        self._connection = connection

    def __call__(self, *_ignored: Any) -> None:
        try:
            self._connection.add_callback_threadsafe(_nothing)
        except Exception as exc:  # noqa: BLE001 - a closed connection: its thread is leaving anyway
            log.debug("could not wake the connection thread: %r", exc)


def _nothing() -> None:
    pass


class Worker:
    def __init__(self, settings: Settings, model: LoadedPipeline | ModelHolder | ModelPool, storage: Storage, *,
                 publisher: Publisher | None = None, gpu_thread: ThreadPoolExecutor | None = None):
        """``gpu_thread``: a single-thread executor to generate on, for a caller that runs the
        model itself too (bench/gpu_pipeline.py). PyTorch's CPU kernels get a thread pool per
        calling thread, and two such pools on the same cores halve the speed of both: every
        generation in a process belongs on one thread. Left running when the worker stops."""
        self.settings = settings
        self.models = model if isinstance(model, ModelPool) else pool_for(settings, model)
        self.storage = storage
        self.publisher = publisher or Publisher(settings.amqp_url)
        self.canceled = CanceledJobs()
        self._stopping = threading.Event()
        self._abort = threading.Event()
        self._progress = ProgressBoard(previews=settings.previews)
        self._pending: list[Delivery] = []
        self._gpu = gpu_thread or ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")
        self._owns_gpu_thread = gpu_thread is None
        self.heartbeat = Heartbeat(settings.heartbeat_file)
        self.jobs_done = 0
        self._next_heartbeat = 0.0
        self.device = device_name(settings.device)
        # The folder is read here and again at each heartbeat, never per batch: what the
        # heartbeat announced is what jobs may name (pre_inference admits only those).
        self._loras = self._scan_loras()
        metrics.model_loaded(self.models.is_loaded)
        metrics.enable_gpu_metrics()

    # -- lifecycle -------------------------------------------------------------
    def stop(self, *, abort: bool = False) -> None:
        """Finish the current jobs, then leave; abort=True also cancels (and hands back) the jobs in flight."""
        self._stopping.set()
        if abort:
            self._abort.set()

    def install_signal_handlers(self) -> None:
        def on_signal(signum: int, _frame: Any) -> None:
            again = self._stopping.is_set()
            log.info("signal %s: %s", signum, "aborting the current job" if again else "finishing the current job, then exiting")
            self.stop(abort=again)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def run(self) -> None:
        """Consume until stopped, reconnecting with capped, jittered exponential backoff."""
        delay = 1.0
        try:
            while not self._stopping.is_set():
                connection = None
                try:
                    connection = connect(self.settings.amqp_url)
                    delay = 1.0
                    self._serve(connection)
                except (BrokerUnavailable, *BROKER_ERRORS) as exc:
                    if self._stopping.is_set():
                        break
                    log.warning("broker unavailable (%r); reconnecting in %.1fs", exc, delay)
                    self._stopping.wait(delay * random.uniform(0.8, 1.2))
                    delay = min(delay * 2, MAX_BACKOFF_S)
                finally:
                    # Unacked deliveries of a lost connection are redelivered by the broker.
                    self._pending = []
                    _close_quietly(connection)
        finally:
            self.heartbeat.clear()
            self.publisher.close()
            if self._owns_gpu_thread:
                self._gpu.shutdown(wait=True)
            log.info("worker stopped after %d job(s)", self.jobs_done)

    def _serve(self, connection: pika.BlockingConnection) -> None:
        channel = connection.channel()
        queue = jobs_queue(self.settings.pool)
        declare_topology(channel, (self.settings.pool,))
        channel.basic_qos(prefetch_count=self.settings.max_batch)
        # Our own queue for cancellations: exclusive and auto-delete, gone with this connection.
        cancel_queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
        channel.queue_bind(queue=cancel_queue, exchange=EVENTS_EXCHANGE, routing_key=CANCELED_KEY)
        channel.basic_consume(cancel_queue, self._on_cancel, auto_ack=True)
        # Announced before the first job is taken, so the catalogue knows this worker's models
        # (pre_inference refuses jobs for models no live worker serves).
        self._next_heartbeat = 0.0
        self._maybe_announce()
        channel.basic_consume(queue, lambda _ch, method, props, body: self._pending.append(Delivery(method, props, body)))
        log.info("consuming %s as %s (batches up to %d images)", queue, self.settings.worker_name, self.settings.max_batch)
        window_s = self.settings.batch_window_ms / 1000
        while not self._stopping.is_set():
            self.heartbeat.beat()
            self._maybe_announce()
            connection.process_data_events(time_limit=0 if self._pending else IDLE_WAKEUP_S)
            if not self._pending:
                if self.models.maybe_unload():
                    metrics.model_unloaded()
                    metrics.update_gpu_metrics()
                self.publisher.keepalive()
                continue
            # A short window for the rest of a backlog: it costs window_s once, not per job.
            gather_until = time.monotonic() + window_s
            while len(self._pending) < self.settings.max_batch and time.monotonic() < gather_until:
                connection.process_data_events(time_limit=max(0.0, gather_until - time.monotonic()))
            deliveries, self._pending = self._pending, []
            self._handle(connection, channel, deliveries)
            self.publisher.keepalive()
        self._hand_back(channel, self._pending)
        self._pending = []
        if channel.is_open:
            channel.close()

    def _on_cancel(self, _channel: Any, _method: Any, _properties: Any, body: bytes) -> None:
        try:
            envelope = decode(body)
            self.canceled.add(envelope.data["job_id"])
            log.info("job canceled by its owner", extra={"job_id": envelope.data["job_id"]})
        except (ContractError, KeyError, TypeError) as exc:
            log.warning("ignoring an unreadable cancellation: %s", exc)

    # -- deliveries ----------------------------------------------------------------
    def _handle(self, connection: Any, channel: Any, deliveries: list[Delivery]) -> None:
        runnable = [d for d in deliveries if self._admit(connection, channel, d)]
        for group in group_jobs(runnable, self.settings.max_batch):
            if self._stopping.is_set():
                self._hand_back(channel, group)
                continue
            self._run_group(connection, channel, group)

    def _admit(self, connection: Any, channel: Any, delivery: Delivery) -> bool:
        """Settles what must not run (invalid, interrupted too often, late, canceled); True: run it."""
        tag = delivery.method.delivery_tag
        try:
            job = decode(delivery.body)
            if job.type != JOB_TYPE or job.version not in JOB_VERSIONS:
                raise ContractError(f"{job.type} v{job.version} is not a job this worker runs")
        except ContractError as exc:
            log.error("dead-lettering an invalid job message: %s", exc)
            channel.basic_reject(tag, requeue=False)
            return False
        delivery.job, delivery.attempts = job, events.attempts_of(delivery.properties.headers)
        open_job_span(delivery)
        extra = {"job_id": delivery.job_id, "correlation_id": job.correlation_id}
        if self._stopping.is_set():
            self._hand_back(channel, [delivery])
            return False
        if delivery.method.redelivered:
            if delivery.attempts >= self.settings.max_job_attempts:
                log.error("job stopped a worker %d times; giving up", delivery.attempts, extra=extra)
                self._confirm(connection, events.failed(
                    job, "worker_crashed", f"The job stopped the worker {delivery.attempts} times and was given up."))
                channel.basic_reject(tag, requeue=False)  # kept in the pool's dead-letter queue for inspection
                metrics.count_job("failed")
                close_job_span(delivery)
            else:
                log.warning("job was interrupted on attempt %d; queueing attempt %d", delivery.attempts,
                            delivery.attempts + 1, extra=extra)
                self._republish(delivery, delivery.attempts + 1)
                channel.basic_ack(tag)
                close_job_span(delivery)
            return False
        if events.parse_time(job.data["deadline_at"]).timestamp() < time.time():
            self._settle(connection, channel, delivery,
                         events.failed(job, "deadline_exceeded", "The job's deadline passed before a worker could start it."))
            return False
        if delivery.job_id in self.canceled:
            self._settle(connection, channel, delivery, events.failed(job, "canceled", "The job was canceled before it started."))
            return False
        return True

    def _run_group(self, connection: Any, channel: Any, group: list[Delivery]) -> None:
        for delivery in group:
            metrics.QUEUE_WAIT.observe(_queue_ms(delivery.job) / 1000)
            self._confirm(connection, events.started(delivery.job, worker=self.settings.worker_name, attempt=delivery.attempts))
            log.info("job started (attempt %d, batch of %d)", delivery.attempts, len(group),
                     extra={"job_id": delivery.job_id, "correlation_id": delivery.job.correlation_id})
        if not self.models.is_loaded_for(group[0].job.data["params"]["model"]):
            # Cold start: say so before the (long) load, so the user sees "warming up".
            for delivery in group:
                self._publish_progress(events.progress(delivery.job, 0, delivery.job.data["params"]["steps"], phase="loading"))
        outcomes = self._generate(connection, group)
        for delivery, outcome in zip(group, outcomes):
            if isinstance(outcome, JobCanceled) and delivery.job_id not in self.canceled and self._abort.is_set():
                log.warning("job aborted by shutdown; handing it back", extra={"job_id": delivery.job_id})
                self._hand_back(channel, [delivery])
                continue
            if isinstance(outcome, JobResult):
                result = events.succeeded(delivery.job, outcome.images, {**outcome.timings_ms, "queue": _queue_ms(delivery.job)})
            else:
                result = events.failed(delivery.job, outcome.reason_code, outcome.message)
            self._settle(connection, channel, delivery, result)
            self.jobs_done += 1
            log.info("job %s", result.type.rsplit(".", 1)[-1],
                     extra={"job_id": delivery.job_id, "correlation_id": delivery.job.correlation_id})
        self.models.touch(group[0].job.data["params"]["model"])
        metrics.update_gpu_metrics()

    def _generate(self, connection: Any, group: list[Delivery]) -> list[JobResult | JobFailure]:
        jobs = {d.job_id: d.job for d in group}

        def on_progress(job_id: str, step: int, total: int) -> None:
            self._progress.step(jobs[job_id], step, total)

        def is_canceled(job_id: str) -> bool:
            return self._abort.is_set() or job_id in self.canceled

        future: Future = self._gpu.submit(self._work, [d.job.data for d in group], on_progress, is_canceled)
        future.add_done_callback(Wakeup(connection))
        try:
            while not future.done():
                self.heartbeat.beat()
                self._maybe_announce()
                connection.process_data_events(time_limit=PROGRESS_EVERY_S)
                if future.done():
                    break  # woken by the batch's end: its pending progress is dropped below
                self._flush_progress()
                self.publisher.keepalive()
        finally:
            # Never leave the GPU thread running behind a reconnect: a second job would overlap it.
            wait([future])
        # Progress still pending for this batch is superseded by the outcomes published next.
        # Sent first, it cost the consumer a transaction and each of the job's streams an update
        # before the outcome (5-9 ms between a job's end and its client hearing of it, traced).
        self._progress.clear()
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - a bug must still end every job with a reason
            log.exception("batch failed unexpectedly")
            return [JobFailure("generation_error", f"{type(exc).__name__}: {exc}") for _ in group]

    def _work(self, batch: list[dict[str, Any]], on_progress: Any, is_canceled: Any) -> list[JobResult | JobFailure]:
        """On the GPU thread: load if cold, check each job against the model, run the valid ones together."""
        crash_prompt = self.settings.crash_prompt
        if crash_prompt is not None and any(data["params"]["prompt"] == crash_prompt for data in batch):
            log.error("test crash prompt: exiting like a crashed GPU process")
            os._exit(137)
        try:
            # A group shares one model (jobs.batch_key); a job of another kind runs alone.
            loaded, load_ms = self.models.get(batch[0]["params"]["model"])
        except UnknownModel as exc:
            return [JobFailure("model_unavailable", str(exc)) for _ in batch]
        except ModelLoadError as exc:
            return [JobFailure("model_unavailable", f"the worker cannot load its model: {exc}") for _ in batch]
        metrics.model_loaded(True, load_ms / 1000)
        outcomes: dict[int, JobResult | JobFailure] = {}
        valid = []
        library = self._loras  # one reference, swapped whole by the heartbeat: no lock needed
        for index, data in enumerate(batch):
            try:
                check_params(data["params"], loaded, library)
                valid.append(index)
            except JobFailure as failure:
                outcomes[index] = failure
        if valid:
            step_clock = metrics.StepClock()

            def timed_progress(job_id: str, step: int, total: int) -> None:
                step_clock.step(step)
                on_progress(job_id, step, total)

            results = run_batch([batch[i] for i in valid], loaded, self.storage, on_progress=timed_progress, library=library,
                                is_canceled=is_canceled, load_ms=load_ms, time_limit_s=self.settings.job_time_limit_s,
                                on_latents=self._progress.offer_latents if self.settings.previews else None)
            outcomes.update(zip(valid, results))
            _observe_batch([batch[i] for i in valid], results)
        return [outcomes[i] for i in range(len(batch))]

    def _scan_loras(self) -> dict[str, loras.LoraFile]:
        """The LoRAs of ATELIER_LORA_DIR now; one without a sidecar is for the default model's family."""
        return loras.scan(self.settings.lora_path, self.models.default_family())

    # -- publishing --------------------------------------------------------------
    def _settle(self, connection: Any, channel: Any, delivery: Delivery, outcome: Envelope) -> None:
        self._confirm(connection, outcome)
        channel.basic_ack(delivery.method.delivery_tag)
        metrics.count_job(metrics.job_outcome(outcome.type, outcome.data.get("reason_code")))
        close_job_span(delivery, outcome)

    def _flush_progress(self) -> None:
        for job, step, total, preview in self._progress.take():
            self._publish_progress(events.progress(job, step, total, preview=preview))

    def _maybe_announce(self) -> None:
        """Connection thread: the inference.worker.heartbeat event when one is due. Reads the
        models' state without their locks, so a load on the GPU thread never delays it."""
        now = time.monotonic()
        if now < self._next_heartbeat:
            return
        self._next_heartbeat = now + self.settings.heartbeat_every_s
        self._loras = self._scan_loras()
        total, used = device_memory(self.device)
        budget = self.models.budget_bytes or None
        envelope = events.heartbeat(
            worker=self.settings.worker_name, pool=self.settings.pool, device=self.device, interval_s=self.settings.heartbeat_every_s,
            memory={"total_bytes": total, "used_bytes": used, "models_bytes": self.models.loaded_bytes(), "budget_bytes": budget},
            models=self.models.snapshot(),
            loras=[{"name": lora.name, "family": lora.family} for lora in self._loras.values()])
        try:
            self.publisher.publish(envelope)
        except PublishError as exc:
            log.warning("heartbeat not sent: %s", exc)

    def _publish_progress(self, envelope: Envelope) -> None:
        try:
            self.publisher.publish(envelope)
        except PublishError as exc:
            log.debug("progress dropped: %s", exc)

    def _confirm(self, connection: Any, envelope: Envelope) -> None:
        """Publish with a broker confirm, retrying briefly; give up as BrokerUnavailable."""
        for attempt in range(1, CONFIRM_TRIES + 1):
            try:
                self.publisher.publish(envelope)
                return
            except PublishError as exc:
                log.warning("publishing %s failed (try %d/%d): %s", envelope.type, attempt, CONFIRM_TRIES, exc)
                connection.process_data_events(time_limit=attempt)
        raise BrokerUnavailable(f"cannot publish {envelope.type}")

    def _hand_back(self, channel: Any, deliveries: list[Delivery]) -> None:
        """Return unstarted (or aborted) jobs to the queue without counting an attempt."""
        for delivery in deliveries:
            attempts = delivery.attempts if delivery.job is not None else events.attempts_of(delivery.properties.headers)
            self._republish(delivery, attempts)
            channel.basic_ack(delivery.method.delivery_tag)
            close_job_span(delivery)

    def _republish(self, delivery: Delivery, attempts: int) -> None:
        properties = delivery.properties
        headers = {**(properties.headers or {}), events.ATTEMPTS_HEADER: attempts}
        copy = pika.BasicProperties(
            message_id=properties.message_id, type=properties.type, correlation_id=properties.correlation_id,
            app_id=properties.app_id, content_type=properties.content_type or "application/json",
            delivery_mode=pika.DeliveryMode.Persistent, timestamp=properties.timestamp,
            priority=properties.priority, headers=headers,
        )
        try:
            self.publisher.publish_raw(delivery.body, exchange=JOBS_EXCHANGE, routing_key=delivery.method.routing_key,
                                       properties=copy)
        except PublishError as exc:
            raise BrokerUnavailable(f"cannot requeue the job: {exc}") from exc


def _observe_batch(batch: list[dict[str, Any]], results: list[JobResult | JobFailure]) -> None:
    """Batch size, per-image time and images stored, from timings run_batch measured already."""
    generate_ms = next((r.timings_ms["generate"] for r in results if isinstance(r, JobResult)), None)
    if generate_ms is not None:
        metrics.batch_generated(sum(data["params"]["n"] for data in batch), generate_ms / 1000)
    metrics.IMAGES.inc(metrics.generated_images(results))


def _queue_ms(job: Envelope) -> float:
    try:
        return round(max(0.0, time.time() - events.parse_time(job.occurred_at).timestamp()) * 1000, 1)
    except ValueError:
        return 0.0


def _close_quietly(connection: Any) -> None:
    if connection is not None and connection.is_open:
        try:
            connection.close()
        except BROKER_ERRORS:
            pass
