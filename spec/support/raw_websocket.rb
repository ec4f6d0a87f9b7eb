# frozen_string_literal: true

require "socket"
require "base64"
require "digest/sha1"
require "securerandom"

# A small WebSocket client over a plain TCPSocket, for specs that must see or send exactly what
# goes over the wire: it masks its frames as a client must, but can also send deliberately bad
# ones (unmasked, reserved bits, unknown opcodes, oversized, invalid UTF-8), and it reads frames
# one at a time. Every read waits with IO.select and raises RawWebSocket::Timeout after a
# timeout (5 s by default), so a misbehaving server fails a spec instead of hanging it.
#
#   ws = RawWebSocket.connect("127.0.0.1", port, "/chat", headers: { "Cookie" => "a=1" })
#   ws.send_text("hi")
#   ws.read_message            # => ["echo: hi", :text]
#   ws.close(1000)             # sends Close; ws.read_frame then returns the server's Close
class RawWebSocket
  class Error < StandardError; end
  class Timeout < Error; end
  class HandshakeError < Error
    attr_reader :response

    def initialize(message, response)
      super(message)
      @response = response
    end
  end

  OPCODES = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 }.freeze
  DEFAULT_TIMEOUT = 5

  Frame = Struct.new(:fin, :rsv, :opcode, :payload, :masked) do
    def type
      OPCODES.key(opcode) || opcode
    end

    # For Close frames: [code, reason] (code nil when the frame has no body).
    def close_code
      payload.bytesize >= 2 ? payload.unpack1("n") : nil
    end

    def close_reason
      payload.byteslice(2..).to_s.force_encoding(Encoding::UTF_8)
    end
  end

  attr_reader :socket, :response_head, :status, :headers, :timeout

  # Opens the connection and does the opening handshake; raises HandshakeError unless 101.
  def self.connect(host, port, path = "/", **opts)
    ws = new(host, port, **opts)
    ws.handshake(path, **opts.slice(:headers, :extensions, :protocols))
    ws
  end

  def initialize(host, port, timeout: DEFAULT_TIMEOUT, **)
    @socket = TCPSocket.new(host, port)
    @socket.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_NODELAY, 1)
    @timeout = timeout
    @buffer = +"".b
  end

  def handshake(path = "/", headers: {}, extensions: nil, protocols: nil)
    @key = Base64.strict_encode64(SecureRandom.random_bytes(16))
    lines = ["GET #{path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
             "Sec-WebSocket-Key: #{@key}", "Sec-WebSocket-Version: 13"]
    lines << "Sec-WebSocket-Extensions: #{extensions}" if extensions
    lines << "Sec-WebSocket-Protocol: #{Array(protocols).join(', ')}" if protocols
    headers.each { |k, v| lines << "#{k}: #{v}" }
    write_raw("#{lines.join("\r\n")}\r\n\r\n")
    read_head
    unless @status == 101
      body = @headers["content-length"] ? read_exactly(@headers["content-length"].to_i) : ""
      raise HandshakeError.new("expected 101, got #{@status}", [@status, @headers, body])
    end
    expected = Base64.strict_encode64(Digest::SHA1.digest("#{@key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
    raise Error, "bad Sec-WebSocket-Accept" unless @headers["sec-websocket-accept"] == expected

    self
  end

  # ---- sending ----------------------------------------------------------------------------------

  def send_text(text, **opts)
    send_frame(:text, text.to_s.b, **opts)
  end

  def send_binary(data, **opts)
    send_frame(:binary, data.b, **opts)
  end

  def ping(payload = "")
    send_frame(:ping, payload.b)
  end

  def pong(payload = "")
    send_frame(:pong, payload.b)
  end

  # Sends a Close frame (code nil: no body).
  def close(code = 1000, reason = "")
    send_frame(:close, code ? [code].pack("n") + reason.b : "".b)
  end

  # Sends one frame. opcode: a Symbol or Integer; fin: false for a fragment; mask: false sends
  # it unmasked (a protocol error from a client); rsv: reserved bits (0..7).
  def send_frame(opcode, payload, fin: true, mask: true, rsv: 0)
    write_raw(self.class.frame(opcode, payload, fin: fin, mask: mask, rsv: rsv))
  end

  def self.frame(opcode, payload, fin: true, mask: true, rsv: 0)
    code = opcode.is_a?(Symbol) ? OPCODES.fetch(opcode) : opcode
    payload = payload.b
    head = [(fin ? 0x80 : 0) | ((rsv & 7) << 4) | code].pack("C")
    len = payload.bytesize
    mbit = mask ? 0x80 : 0
    head << if len < 126
              [mbit | len].pack("C")
            elsif len < 65_536
              [mbit | 126, len].pack("Cn")
            else
              [mbit | 127, len].pack("CQ>")
            end
    return head + payload unless mask

    key = SecureRandom.random_bytes(4)
    head + key + mask_bytes(payload, key)
  end

  def self.mask_bytes(payload, key)
    k = key.bytes
    out = payload.bytes.each_with_index.map { |b, i| b ^ k[i % 4] }
    out.pack("C*")
  end

  def write_raw(bytes)
    @socket.write(bytes)
  end

  # ---- receiving --------------------------------------------------------------------------------

  # The next frame (control frames included).
  def read_frame(timeout: @timeout)
    b0, b1 = read_exactly(2, timeout).bytes
    len = case b1 & 0x7f
          when 126 then read_exactly(2, timeout).unpack1("n")
          when 127 then read_exactly(8, timeout).unpack1("Q>")
          else b1 & 0x7f
          end
    key = (b1 & 0x80).zero? ? nil : read_exactly(4, timeout)
    payload = read_exactly(len, timeout)
    payload = self.class.mask_bytes(payload, key) if key
    Frame.new((b0 & 0x80) != 0, (b0 >> 4) & 7, b0 & 0x0f, payload, !key.nil?)
  end

  # The next complete data message as [data, :text | :binary], answering pings on the way;
  # a Close frame is returned as [frame, :close].
  def read_message(timeout: @timeout)
    parts = []
    type = nil
    loop do
      f = read_frame(timeout: timeout)
      case f.type
      when :ping then pong(f.payload)
      when :pong then next
      when :close then return [f, :close]
      else
        type ||= f.type
        parts << f.payload
        next unless f.fin

        data = parts.join
        return [type == :text ? data.force_encoding(Encoding::UTF_8) : data, type]
      end
    end
  end

  # Just the data of the next text/binary message.
  def read_data(timeout: @timeout)
    data, type = read_message(timeout: timeout)
    raise Error, "expected a message, got Close #{data.close_code}" if type == :close

    data
  end

  # Reads until the server's Close frame and returns it (skipping data and pings).
  def read_close(timeout: @timeout)
    loop do
      f = read_frame(timeout: timeout)
      return f if f.type == :close
    end
  end

  # True when the server closed the TCP connection within the time (after any pending bytes).
  def eof?(timeout = @timeout)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    loop do
      left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
      return false if left <= 0
      return false unless IO.select([@socket], nil, nil, left)

      chunk = @socket.read_nonblock(65_536, exception: false)
      return true if chunk.nil?
      next if chunk == :wait_readable

      @buffer << chunk
    end
  rescue Errno::ECONNRESET, IOError
    true
  end

  def close_socket
    @socket.close unless @socket.closed?
  end

  private

  def read_head
    head = +""
    head << read_exactly(1) until head.end_with?("\r\n\r\n")
    @response_head = head
    lines = head.split("\r\n")
    @status = lines.shift[/\AHTTP\/1\.[01] (\d{3})/, 1].to_i
    @headers = {}
    @header_pairs = []
    lines.each do |l|
      k, v = l.split(":", 2)
      @header_pairs << [k, v.strip]
      @headers[k.downcase] = v.strip
    end
  end

  public

  # Every header of the handshake response as [name, value] pairs.
  def header_pairs
    @header_pairs
  end

  def read_exactly(n, timeout = @timeout)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + timeout
    while @buffer.bytesize < n
      left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
      raise Timeout, "no data within #{timeout}s (have #{@buffer.bytesize} of #{n} bytes)" if left <= 0

      next unless IO.select([@socket], nil, nil, left)

      chunk = @socket.read_nonblock(65_536, exception: false)
      raise EOFError, "connection closed (have #{@buffer.bytesize} of #{n} bytes)" if chunk.nil?
      next if chunk == :wait_readable

      @buffer << chunk
    end
    @buffer.slice!(0, n)
  end
end
