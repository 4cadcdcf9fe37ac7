"""HTTPS transport: a threading HTTP/1.1 server (keep-alive) whose handler hands requests to the Service.

The TLS handshake runs in the connection's worker thread, not in accept(), so one slow client
cannot stall the others.
"""
from __future__ import annotations

import socket
import ssl
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from packer.emulator.messages import Request
from packer.emulator.service import Service

_REASONS = {s.value: s.phrase for s in HTTPStatus}


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], service: Service, tls: ssl.SSLContext):
        self.service = service
        self.tls = tls
        self.base_url = ""
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request.settimeout(30)  # a client that never completes the TLS handshake does not hold a thread forever
        with self._open_lock:
            self._open.add(request)
        try:
            tls_socket = self.tls.wrap_socket(request, server_side=True)
            try:
                super().finish_request(tls_socket, client_address)
            finally:
                tls_socket.close()
        except (ssl.SSLError, OSError):
            pass
        finally:
            with self._open_lock:
                self._open.discard(request)

    def close_connections(self) -> None:
        """End idle keep-alive connections (their threads would otherwise wait for the client)."""
        with self._open_lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request, client_address) -> None:
        pass  # a client that went away mid-request is not the emulator's problem


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are closed, as ARM's front ends do
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
        payload = response.payload() if self.command != "HEAD" else b""
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
