"""A core (gateway and compliance) built from plain parts: no store, no reactor, no socket.

Carriers are ``FakeCarrier``s that keep what they are handed; time is whatever float a test
passes; what the core leaves for the shell is read from ``Core.effects``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from smppgw.billing.ledger import Wallets
from smppgw.billing.refunds import RefundPolicy
from smppgw.billing.tariff import PriceList, tariffs_from_toml_table
from smppgw.carriers.model import CarrierJob, CarrierProfile, Outcome
from smppgw.config import AccountConfig, ContentConfig
from smppgw.content import Action, ContentRules
from smppgw.content.rules import Rule
from smppgw.model import Message, MessageState
from smppgw.pipeline.accounts import AccountBook
from smppgw.pipeline.compliance import Compliance
from smppgw.pipeline.gateway import Accepted, Gateway, Rejected
from smppgw.pipeline.outcomes import Effects, Settlement
from smppgw.pipeline.ports import SubmitGate, open_gate
from smppgw.protocol import pdu as p
from smppgw.routing.router import Router
from smppgw.routing.table import RouteEntry, RouteTable

NOW = 1_780_000_000.0  # a fixed moment (2026) every test counts from
NUMBER = "13800138000"  # a CMCC number
MSISDN = "8613800138000"
SERVICE_NUMBER = "10690001"
PRICES = {"CMCC": 45, "CUCC": 40, "CTCC": 42}

RULES = ContentRules(
    [
        Rule("casino", "gambling", Action.REVIEW, None),
        Rule("颠覆国家政权", "art15_national_security", Action.SUSPEND, 2),
        Rule("fakeinvoice", "fraud", Action.REJECT, None, reject_mode="receipt", err_code=5),
        Rule("loan", "finance", Action.FLAG, None),
    ]
)


def profile(code: str, queue_limit: int) -> CarrierProfile:
    delivered = Outcome(MessageState.DELIVERED, 0, "")
    return CarrierProfile(code, code, 0.1, 1.0, 5.0, ((delivered, 1.0),), 0.0, 0.0, queue_limit, 86400.0, 86400.0)


class FakeCarrier:
    """A carrier that keeps what it is handed (``jobs``) and refuses it while ``refusing``."""

    def __init__(self, code: str, *, queue_limit: int = 100) -> None:
        self.code = code
        self.is_up = True
        self.queue_depth = 0
        self.profile = profile(code, queue_limit)
        self.refusing = False
        self.jobs: dict[str, CarrierJob] = {}
        self.offered = 0

    def dispatch(self, job: CarrierJob) -> bool:
        self.offered += 1
        if self.refusing:
            return False
        self.jobs[job.message_id] = job
        return True

    def resume(self, job: CarrierJob, plan_report_at: float | None) -> None:
        self.jobs[job.message_id] = job

    def pending(self, message_id: str) -> bool:
        return message_id in self.jobs

    def cancel(self, message_id: str) -> bool:
        return self.jobs.pop(message_id, None) is not None


class NoStore:
    def get_message(self, message_id: str) -> Message | None:
        return None


@dataclass
class Core:
    gateway: Gateway
    compliance: Compliance
    wallets: Wallets
    accounts: AccountBook
    carriers: dict[str, FakeCarrier]
    effects: Effects
    gates: list[tuple[str, float]] = field(default_factory=list)

    def balance(self, account: str = "acme") -> int:
        return self.wallets[account].balance

    def submit(
        self, text: bytes = b"hello", *, now: float = NOW, to: str = NUMBER, **fields: object
    ) -> Accepted | Rejected:
        fields.setdefault("source_addr", SERVICE_NUMBER)
        pdu = p.SubmitSm(sequence_number=1, destination_addr=to, short_message=text, **fields)  # type: ignore[arg-type]
        return self.gateway.submit("acme", pdu, now, "192.0.2.1")

    def accept(self, text: bytes = b"hello", *, now: float = NOW, **fields: object) -> Message:
        """Submit, expect it accepted, and release it (its response is out)."""
        result = self.submit(text, now=now, **fields)
        assert isinstance(result, Accepted), result
        self.gateway.release(result.message, now)
        return result.message

    def report(self, message: Message, state: MessageState, at: float, err: int = 0) -> Settlement:
        settlement = self.gateway.on_carrier_report(message.message_id, Outcome(state, err, ""), at)
        assert settlement is not None
        return settlement

    def settlements(self) -> list[Settlement]:
        return self.effects.take()[1]


def build(
    *,
    account: AccountConfig | None = None,
    balance: int = 1000,
    rules: ContentRules | None = RULES,
    content: ContentConfig | None = None,
    when_all_down: str = "queue",
    refund_states: Iterable[str] = ("UNDELIV", "REJECTD"),
    queue_limit: int = 100,
    submit_gate: SubmitGate = open_gate,
) -> Core:
    accounts = AccountBook()
    accounts.add(account or AccountConfig("acme", "secret", source_addrs=("10690",)))
    wallets = Wallets()
    wallets.open("acme")
    if balance:
        wallets.topup("acme", balance, "opening", "test", NOW - 1000)
    table = RouteTable(
        [
            RouteEntry("86138", "CMCC", "mobile"),
            RouteEntry("86130", "CUCC", "mobile"),
            RouteEntry("86133", "CTCC", "mobile"),
        ]
    )
    router = Router(table, failover={"CMCC": ["CUCC"]})
    prices = PriceList(tariffs_from_toml_table({"standard": dict(PRICES)}, "test"))
    effects = Effects()
    compliance = Compliance(config=content or ContentConfig(), rules=rules, accounts=accounts, effects=effects)
    carriers = {code: FakeCarrier(code, queue_limit=queue_limit) for code in PRICES}
    return Core(
        Gateway(
            store=NoStore(),
            accounts=accounts,
            wallets=wallets,
            router=router,
            prices=prices,
            refunds=RefundPolicy(refund_states),
            carriers=carriers,
            effects=effects,
            compliance=compliance,
            when_all_down=when_all_down,
            submit_gate=submit_gate,
        ),
        compliance,
        wallets,
        accounts,
        carriers,
        effects,
    )
