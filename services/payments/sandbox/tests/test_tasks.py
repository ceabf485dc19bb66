"""Unit: the delivery task retries what can succeed later and stops on terminal answers."""
import pytest

from sandbox import services, tasks


@pytest.fixture
def outcomes(monkeypatch):
    calls = []

    def install(*sequence):
        answers = iter(sequence)

        def deliver(event_id):
            calls.append(event_id)
            return next(answers)
        monkeypatch.setattr(services, "deliver", deliver)
        return calls
    return install


def test_retries_until_delivered(outcomes):
    calls = outcomes(services.RETRY, services.RETRY, services.DELIVERED)
    assert tasks.deliver_webhook.apply(args=("evt_1",)).get() == services.DELIVERED
    assert calls == ["evt_1"] * 3


def test_terminal_answers_are_not_retried(outcomes):
    calls = outcomes(services.TERMINAL)
    assert tasks.deliver_webhook.apply(args=("evt_2",)).get() == services.TERMINAL
    assert calls == ["evt_2"]


def test_gives_the_event_back_to_the_sweep_after_max_retries(outcomes):
    calls = outcomes(*[services.RETRY] * (tasks.MAX_RETRIES + 1))
    assert tasks.deliver_webhook.apply(args=("evt_3",)).get() == "gave_up_for_now"
    assert len(calls) == tasks.MAX_RETRIES + 1
