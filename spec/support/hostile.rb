# frozen_string_literal: true

# The bytes hostile clients send (spec/hostile_clients_spec.rb): HTTP requests cut short,
# corrupted or framed wrongly, and WebSocket frames that break RFC 6455. Everything is drawn
# from the Random passed in, so a seed replays the same bytes. WebSocket frames are built and
# masked by RawWebSocket.frame.
#
# Requests that must never reach the app carry "X-Hostile: malformed"; the app under test
# records the requests it sees, so a spec can tell whether one got through.
module Hostile
  MALFORMED = "X-Hostile: malformed"

  # A request the server must refuse with one of `statuses`, then close the connection.
  Request = Struct.new(:name, :bytes, :statuses, keyword_init: true)

  # Close codes a peer must not send (RFC 6455 7.4): below 1000, reserved (1004) or only for
  # reporting (1005, 1006, 1015), unassigned in the protocol's range, and past 4999.
  BAD_CLOSE_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 32_768, 65_535].freeze
  # Codes a peer may send: the RFC's, those registered since (1012-1014), and the
  # application ranges 3000-4999.
  GOOD_CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
                      4000, 4999].freeze

  module_function

  def head(method, path, fields)
    "#{method} #{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n#{fields.map { |f| "#{f}\r\n" }.join}\r\n".b
  end

  def text(rng, max = 64)
    Array.new(rng.rand(1..max)) { rng.rand(97..122).chr }.join
  end

  # --- HTTP ------------------------------------------------------------------------------

  # A valid POST to the echo route with a chunked body; the app must see exactly `body`.
  def valid_chunked(rng, tag)
    body = text(rng, 200)
    pieces = body.scan(/.{1,#{rng.rand(1..50)}}/m)
    chunks = pieces.map { |p| "#{p.bytesize.to_s(16)}\r\n#{p}\r\n" }.join
    [head("POST", "/echo", ["X-Hostile: #{tag}", "Transfer-Encoding: chunked"]) + "#{chunks}0\r\n\r\n".b, body]
  end

  # A chunked body framed wrongly: 400 and close (413 where the size parses but is too big).
  def bad_chunked(rng)
    data = text(rng, 20)
    n = data.bytesize
    name, body, statuses = [
      ["non-hex size", "#{%w[zz 0x5 -5 5z g +5].sample(random: rng)}\r\n#{data}\r\n0\r\n\r\n", [400]],
      ["size with a space inside", "#{n} #{n}\r\n#{data}\r\n0\r\n\r\n", [400]],
      ["empty size line", "\r\n#{data}\r\n0\r\n\r\n", [400]],
      ["overflowing size", "#{'f' * rng.rand(17..40)}\r\n#{data}\r\n0\r\n\r\n", [400, 413]],
      ["size of 2^64", "1#{'0' * 16}\r\n#{data}\r\n0\r\n\r\n", [400, 413]],
      ["chunk longer than its size", "#{[n - 1, 1].max.to_s(16)}\r\n#{data}XYZ\r\n0\r\n\r\n", [400]],
      ["chunk without its CRLF", "#{n.to_s(16)}\r\n#{data}0\r\n\r\n", [400]],
      ["bare LF after the size", "#{n.to_s(16)}\n#{data}\r\n0\r\n\r\n", [400]]
    ].sample(random: rng)
    Request.new(name: "chunked: #{name}", statuses: statuses,
                bytes: head("POST", "/echo", [MALFORMED, "Transfer-Encoding: chunked"]) + body.b)
  end

  # A Content-Length the server must refuse: 400, or 413 for a number too big to take.
  def bad_length(rng)
    name, fields, statuses = [
      ["negative length", ["Content-Length: -#{rng.rand(1..100)}"], [400]],
      ["non-numeric length", ["Content-Length: #{%w[abc 1e3 0x10 12a].sample(random: rng)}"], [400]],
      ["two different lengths", ["Content-Length: 3", "Content-Length: 4"], [400]],
      ["length and chunked", ["Content-Length: 3", "Transfer-Encoding: chunked"], [400]],
      ["overflowing length", ["Content-Length: #{'9' * rng.rand(20..40)}"], [400, 413]],
      ["huge length", ["Content-Length: #{2**62 + rng.rand(1000)}"], [413]]
    ].sample(random: rng)
    Request.new(name: "length: #{name}", statuses: statuses,
                bytes: head("POST", "/echo", [MALFORMED, *fields]) + "abc".b)
  end

  # A valid request with a few random bytes changed: anything may come back, or nothing.
  def flipped(rng)
    raw, = valid_chunked(rng, "flipped")
    rng.rand(1..4).times { raw.setbyte(rng.rand(raw.bytesize), rng.rand(256)) }
    raw
  end

  # The start of a request head; the client then says nothing more. [bytes, what they are].
  def half_head(rng)
    raw = head("GET", "/?#{text(rng)}", ["Accept: */*", "X-Long: #{text(rng, 200)}"])
    cut = rng.rand(1...raw.bytesize - 2)
    [raw.byteslice(0, cut), "head cut after #{cut} of #{raw.bytesize} bytes"]
  end

  # The head of a POST and part (half the time none) of its body; the rest never comes.
  # [bytes, what they are].
  def stalled_body(rng)
    length = rng.rand(1..5000)
    sent = rng.rand(2).zero? ? 0 : rng.rand(0...length)
    [head("POST", "/echo", [MALFORMED, "Content-Length: #{length}"]) + ("x" * sent).b,
     "body that never arrives (#{sent} of #{length} bytes sent)"]
  end

  # --- WebSocket -----------------------------------------------------------------------

  # The opening handshake for the echo route, raw (for clients that vanish while it is answered).
  def ws_handshake(path = "/ws")
    head("GET", path, ["Upgrade: websocket", "Connection: Upgrade",
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"])
  end

  # Bytes that break RFC 6455; the server must fail the connection (Close, then TCP close).
  def bad_frames(rng)
    payload = text(rng, 100)
    name, bytes = [
      ["reserved opcode", RawWebSocket.frame([3, 4, 5, 6, 7, 11, 12, 13, 14, 15].sample(random: rng), payload)],
      ["reserved bits", RawWebSocket.frame(:text, payload, rsv: rng.rand(1..7))],
      ["unmasked frame", RawWebSocket.frame(:text, payload, mask: false)],
      ["control frame over 125 bytes", RawWebSocket.frame(%i[ping pong close].sample(random: rng), "p" * rng.rand(126..300))],
      ["fragmented control frame", RawWebSocket.frame(:ping, payload, fin: false)],
      ["continuation without a start", RawWebSocket.frame(:continuation, payload)],
      ["new message inside a fragmented one",
       RawWebSocket.frame(:text, payload, fin: false) + RawWebSocket.frame(:binary, payload)],
      ["64-bit length with the top bit set", [0x81, 0xFF, 2**63 + rng.rand(2**32)].pack("CCQ>") + "\0\0\0\0" + payload],
      ["message over max_message", RawWebSocket.frame(:binary, "b" * rng.rand(70_000..100_000))],
      ["close with a 1-byte body", RawWebSocket.frame(:close, "\x03")],
      ["invalid UTF-8 text", RawWebSocket.frame(:text, "ok\xC3\x28#{payload}".b)]
    ].sample(random: rng)
    [name, bytes]
  end

  # Valid or mangled frames: flipped bytes, torn off mid-frame, or random bytes. Anything goes.
  def noise_frames(rng)
    good = Array.new(rng.rand(1..4)) { RawWebSocket.frame(%i[text binary ping pong].sample(random: rng), text(rng, 200)) }.join
    case rng.rand(3)
    when 0 then good.tap { |g| rng.rand(1..4).times { g.setbyte(rng.rand(g.bytesize), rng.rand(256)) } }
    when 1 then good.byteslice(0, rng.rand(1..good.bytesize))
    else rng.bytes(rng.rand(1..300))
    end
  end

  # A fragmented text message with control frames between its fragments (which RFC 6455 5.4
  # allows): [the bytes, the message, the ping payloads in order].
  def interleaved(rng)
    message = text(rng, 300)
    parts = message.scan(/.{1,#{rng.rand(10..100)}}/m)
    pings = []
    bytes = parts.each_with_index.map do |part, i|
      frame = RawWebSocket.frame(i.zero? ? :text : :continuation, part, fin: i == parts.size - 1)
      next frame if i == parts.size - 1 || rng.rand(2).zero?

      pings << "p#{i}"
      frame + RawWebSocket.frame(:pong, "unsolicited") + RawWebSocket.frame(:ping, pings.last)
    end
    [bytes.join, message, pings]
  end

  # A Close frame with a code: [code, bytes, whether the code is one a peer may send]. A third
  # each: a valid code, a listed invalid one, any code past 4999.
  def close_frame(rng)
    good = false
    code = case rng.rand(3)
           when 0 then (good = true) && GOOD_CLOSE_CODES.sample(random: rng)
           when 1 then BAD_CLOSE_CODES.sample(random: rng)
           else rng.rand(5000..65_535)
           end
    [code, RawWebSocket.frame(:close, [code].pack("n") + text(rng, 20)), good]
  end

  def ping(rng)
    RawWebSocket.frame(:ping, "x" * rng.rand(100..125))
  end
end
