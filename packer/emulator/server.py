"""HTTPS transport: a threading HTTP/1.1 server (keep-alive) whose handler hands requests to the Service.

The TLS handshake runs in the connection's worker thread, not in accept(), so one slow client
cannot stall the others.
"""
from __future__ import annotations

import socket
import ssl
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from packer.emulator.service import Request, Service

_REASONS = {s.value: s.phrase for s in HTTPStatus}


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], service: Service, tls: ssl.SSLContext):
        self.service = service
        self.tls = tls
        self.base_url = ""
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls_socket = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls_socket, client_address)
        finally:
            try:
                tls_socket.close()
            except OSError:
                pass

    def handle_error(self, request, client_address) -> None:
        pass  # a client that went away mid-request is not the emulator's problem


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: EmulatorHTTPServer

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, self.path, headers, body, self.server.base_url)
        response = self.server.service.handle(request)
        if response.delay_s:
            time.sleep(response.delay_s)
        if response.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload = response.payload()
        request_id = str(uuid.uuid4())
        lines = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}",
                 f"Date: {self.date_time_string()}",
                 "Cache-Control: no-cache",
                 f"Content-Length: {len(payload)}",
                 f"x-ms-request-id: {request_id}",
                 f"x-ms-correlation-request-id: {headers.get('x-ms-client-request-id', request_id)}"]
        if payload:
            lines.append("Content-Type: application/json; charset=utf-8")
        lines.extend(f"{k}: {v}" for k, v in response.headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)

    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = do_HEAD = _serve

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's signature
        pass
