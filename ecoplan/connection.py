"""How ecoplan reaches Temporal: address, namespace, TLS / mTLS / API key, data converter.

The CLI and the worker both connect through `connect()`, so a secured cluster is
configured once, by environment variables (read through activities/settings.py):

  TEMPORAL_ADDRESS            host:port (default localhost:7233)
  TEMPORAL_NAMESPACE          namespace (default "default")
  TEMPORAL_TLS                "1" to use TLS with the system roots (implied by the others)
  TEMPORAL_TLS_CA             PEM file of the server CA
  TEMPORAL_TLS_CERT / _KEY    PEM client certificate and key (mutual TLS)
  TEMPORAL_TLS_SERVER_NAME    override the TLS server name
  TEMPORAL_API_KEY            API key (Temporal Cloud); sent as a bearer token

`DATA_CONVERTER` is the one place where a payload codec (encryption of incident data)
would be added: `dataclasses.replace(pydantic_data_converter, payload_codec=MyCodec())`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from activities.settings import settings

TASK_QUEUE = "ecoplan"
DATA_CONVERTER = pydantic_data_converter


@dataclass(frozen=True)
class ConnectionSettings:
    address: str = "localhost:7233"
    namespace: str = "default"
    tls: bool = False
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_server_name: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never in a repr, a log line or a traceback

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "ConnectionSettings":
        s = settings(env)
        return cls(
            address=s.temporal_address,
            namespace=s.temporal_namespace,
            tls=s.tls_on,
            tls_ca=s.temporal_tls_ca,
            tls_cert=s.temporal_tls_cert,
            tls_key=s.temporal_tls_key,
            tls_server_name=s.temporal_tls_server_name,
            api_key=s.temporal_api_key,
        )

    def tls_config(self) -> TLSConfig | bool:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("双向 TLS 须同时设置 TEMPORAL_TLS_CERT 和 TEMPORAL_TLS_KEY")
        if not (self.tls or self.tls_ca or self.tls_cert or self.api_key):
            return False
        read = lambda p: Path(p).read_bytes() if p else None  # noqa: E731
        return TLSConfig(
            server_root_ca_cert=read(self.tls_ca),
            client_cert=read(self.tls_cert),
            client_private_key=read(self.tls_key),
            domain=self.tls_server_name,
        )

    def redacted(self) -> dict:
        """What may be logged: never the key or certificate contents."""
        return {
            "address": self.address,
            "namespace": self.namespace,
            "tls": bool(self.tls_config()),
            "mtls": self.tls_cert is not None,
            "api_key": "set" if self.api_key else None,
        }


async def connect(settings: ConnectionSettings | None = None, runtime: Runtime | None = None) -> Client:
    s = settings or ConnectionSettings.from_env()
    return await Client.connect(
        s.address,
        namespace=s.namespace,
        tls=s.tls_config(),
        api_key=s.api_key,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
    )
