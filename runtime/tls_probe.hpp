// Whether a TLS node answers at all, asked before CAF's OpenSSL module
// connects. That module (CAF 0.17.6) has no handshake timeout: a node that
// accepts the TCP connection and never answers (frozen, SIGSTOPped, hung)
// leaves a handshake CAF's middleman waits on until the node answers or
// closes, and the actor system's shutdown -- ~runtime, the end of every
// storectl command -- waits with it (measured: over 10 minutes). A probe
// that gets no answer within its wait keeps that connection from being
// made; a node that freezes between the probe and CAF's handshake (a window
// of milliseconds) still holds it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace storage {

// Connects to `host:port`, sends a TLS ClientHello and waits up to `wait`
// for any answer. Returns why the node is not worth a connection ("accepted
// the connection but did not answer the TLS handshake within N ms"), or
// nullopt: it answered, or the TCP connection failed -- CAF's own attempt
// then says how. Blocks the calling thread for up to `wait` (plus name
// resolution, as CAF's connect does).
std::optional<std::string> silent_tls_peer(const std::string& host,
                                           std::uint16_t port,
                                           std::chrono::milliseconds wait);

}  // namespace storage
