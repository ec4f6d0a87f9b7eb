# frozen_string_literal: true

require "socket"

# A deliberately small HTTP/1.1 client over a plain TCPSocket, for tests that need to see (or
# send) exactly what goes over the wire: raw requests, pipelining, keep-alive, chunked bodies,
# duplicate headers, and whether the server closed the connection.
#
# Every read waits with IO.select and gives up after a timeout (5 s by default), raising
# RawHttp::Timeout, so a misbehaving server fails a spec instead of hanging it.
#
#   RawHttp.open("127.0.0.1", port) do |http|
#     res = http.get("/")                        # => RawHttp::Response
#     http.request("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
#     a, b = http.read_response, http.read_response
#     http.closed_by_peer?(1)                     # => false (still open)
#   end
class RawHttp
  class Error < StandardError; end
  # Nothing (or not enough) arrived in time.
  class Timeout < Error; end
  # The bytes that arrived are not a valid HTTP/1.x response.
  class ParseError < Error; end
  # The peer closed the connection before a complete response was read.
  class ClosedError < Error; end

  DEFAULT_TIMEOUT = 5
  READ_SIZE = 16 * 1024
  MAX_HEAD = 256 * 1024
  REQUEST_LINE = %r{(?:\A|(?<=\r\n\r\n)|(?<=\n\n))([A-Z]+) \S+ HTTP/\d\.\d\r?\n}n

  # Header fields in order, duplicates kept; names are matched case-insensitively.
  class Headers
    include Enumerable

    def initialize(pairs = [])
      @pairs = pairs
    end

    # The first value of the field, or nil.
    def [](name)
      name = name.to_s.downcase
      pair = @pairs.find { |k, _| k.downcase == name }
      pair && pair[1]
    end

    # Every value of the field, in order (e.g. several Set-Cookie lines).
    def values(name)
      name = name.to_s.downcase
      @pairs.select { |k, _| k.downcase == name }.map { |_, v| v }
    end
    alias all values

    def key?(name)
      !self[name].nil?
    end
    alias include? key?

    def count_of(name)
      values(name).size
    end

    # Field names as sent, in order.
    def names
      @pairs.map(&:first)
    end

    def each(&block)
      @pairs.each(&block)
    end

    def to_a
      @pairs.dup
    end

    # { "lower-case-name" => [values...] }
    def to_h
      @pairs.each_with_object({}) { |(k, v), h| (h[k.downcase] ||= []) << v }
    end

    def size
      @pairs.size
    end

    def empty?
      @pairs.empty?
    end

    def inspect
      "#<RawHttp::Headers #{@pairs.inspect}>"
    end
  end

  # status: Integer; version: "HTTP/1.1"; reason: String; headers: Headers; body: String
  # (binary); chunked: whether the body came with Transfer-Encoding: chunked; chunks: the
  # chunk payloads in order (chunked only); trailers: Headers after the last chunk;
  # framing: :content_length, :chunked, :close (read until the peer closed) or :none.
  Response = Struct.new(:version, :status, :reason, :headers, :body, :chunked, :chunks,
                        :trailers, :framing, :head, keyword_init: true) do
    def [](name)
      headers[name]
    end

    def chunked?
      chunked ? true : false
    end

    def informational?
      status < 200
    end

    # What the response says about the connection after it.
    def keep_alive?
      tokens = headers.values("connection").join(",").downcase.split(",").map(&:strip)
      return false if tokens.include?("close") || framing == :close
      version == "HTTP/1.1" || tokens.include?("keep-alive")
    end

    def to_s
      "#{version} #{status} #{reason}"
    end
  end

  attr_reader :host, :port, :socket
  attr_accessor :timeout

  def self.open(host, port, **opts)
    http = new(host, port, **opts)
    return http unless block_given?

    begin
      yield http
    ensure
      http.close
    end
  end

  # One request on a fresh connection: RawHttp.get(host, port, "/path", "Accept" => "x").
  # timeout: and connect_timeout: go to the connection, version: and the rest to the request.
  def self.get(host, port, path, headers = {}, timeout: DEFAULT_TIMEOUT, connect_timeout: timeout, **opts)
    open(host, port, timeout: timeout, connect_timeout: connect_timeout) { |http| http.get(path, headers, **opts) }
  end

  def initialize(host, port, timeout: DEFAULT_TIMEOUT, connect_timeout: timeout)
    @host = host
    @port = Integer(port)
    @timeout = timeout
    @buf = String.new(encoding: Encoding::BINARY)
    @eof = false
    @reset = false
    @pending = [] # methods of requests sent and not yet answered, for HEAD handling
    @socket = Socket.tcp(host, @port, connect_timeout: connect_timeout)
    @socket.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_NODELAY, 1)
  end

  # --- writing -----------------------------------------------------------------------------

  # Sends raw bytes as they are. The methods of the request lines in them are remembered, in
  # order, so that the answer to a HEAD request is read without a body.
  def request(raw)
    raw = raw.b
    raw.scan(REQUEST_LINE) { |(method)| @pending << method }
    write(raw)
    self
  end

  # Sends bytes without treating them as a new request (e.g. the rest of a body).
  def write(bytes)
    bytes = bytes.b
    deadline = now + @timeout
    until bytes.empty?
      n = @socket.write_nonblock(bytes, exception: false)
      if n == :wait_writable
        wait(:write, deadline) or raise Timeout, "timed out writing (peer not reading?)"
      else
        bytes = bytes.byteslice(n..-1)
      end
    end
    self
  end

  # Sends one request built from its parts; a Host header is added unless given. A body gets a
  # Content-Length unless a Content-Length or Transfer-Encoding header is given. Headers may be
  # a Hash or trailing name => value pairs; an Array value sends the field once per element.
  def send_request(method, path, headers = {}, body = nil, version: "HTTP/1.1", **more_headers)
    headers = headers.merge(more_headers)
    names = headers.keys.map { |k| k.to_s.downcase }
    lines = ["#{method} #{path} #{version}"]
    lines << "Host: #{@host}:#{@port}" unless names.include?("host")
    if body && !names.include?("content-length") && !names.include?("transfer-encoding")
      lines << "Content-Length: #{body.bytesize}"
    end
    headers.each do |k, v|
      Array(v).each { |one| lines << "#{k}: #{one}" }
    end
    request(lines.join("\r\n") + "\r\n\r\n" + (body || "").b)
  end

  # --- request + response helpers ----------------------------------------------------------
  # Each sends one request and reads its response: http.get("/", "Accept" => "text/plain"),
  # http.post("/echo", "body", "Content-Type" => "text/plain"), http.get("/", version: "HTTP/1.0").

  def get(path, headers = {}, **opts)
    send_request("GET", path, headers, **opts)
    read_response
  end

  def head(path, headers = {}, **opts)
    send_request("HEAD", path, headers, **opts)
    read_response
  end

  def post(path, body, headers = {}, **opts)
    send_request("POST", path, headers, body, **opts)
    read_response
  end

  def put(path, body, headers = {}, **opts)
    send_request("PUT", path, headers, body, **opts)
    read_response
  end

  def delete(path, headers = {}, **opts)
    send_request("DELETE", path, headers, **opts)
    read_response
  end

  # --- reading -----------------------------------------------------------------------------

  # Reads the next complete response. 1xx responses are returned like any other (they have
  # no body); pass skip_interim: true to skip them. head: forces (or forbids) HEAD handling;
  # by default it follows the method of the request this response answers.
  def read_response(timeout: @timeout, head: nil, skip_interim: false)
    deadline = now + timeout
    loop do
      res = read_head(deadline: deadline, head: head)
      read_body(res, deadline: deadline)
      return res unless skip_interim && res.informational?
    end
  end

  # Reads only the status line and the header fields; the body is left on the connection for
  # read_body, read_chunk or read_partial (for streamed responses).
  def read_head(timeout: @timeout, deadline: now + timeout, head: nil)
    raw = read_until("\r\n\r\n", deadline, limit: MAX_HEAD, what: "response head")
    lines = raw.split("\r\n")
    status_line = lines.shift.to_s
    m = status_line.match(%r{\A(HTTP/\d\.\d) (\d{3})(?: (.*))?\z})
    raise ParseError, "bad status line: #{status_line.inspect}" unless m

    status = m[2].to_i
    method = status < 200 ? @pending.first : @pending.shift
    head = (method == "HEAD") if head.nil?
    Response.new(version: m[1], status: status, reason: m[3].to_s,
                 headers: Headers.new(parse_fields(lines)), body: String.new(encoding: Encoding::BINARY),
                 chunked: false, chunks: [], trailers: Headers.new, framing: nil, head: head)
  end

  # Reads the body of a response whose head read_head returned, following RFC 9112 framing.
  def read_body(res, timeout: @timeout, deadline: now + timeout)
    te = res.headers.values("transfer-encoding").join(",").downcase
    if res.head || res.status < 200 || res.status == 204 || res.status == 304
      res.framing = :none
    elsif te.split(",").map(&:strip).last == "chunked"
      res.framing = :chunked
      res.chunked = true
      while (chunk = read_chunk(deadline: deadline, response: res))
        res.body << chunk
      end
    elsif (cl = res.headers["content-length"])
      raise ParseError, "bad content-length: #{cl.inspect}" unless cl =~ /\A\d+\z/

      res.framing = :content_length
      res.body << read_exactly(cl.to_i, deadline, what: "body of #{cl} bytes")
    else
      res.framing = :close
      res.body << read_to_eof(deadline)
    end
    res
  end

  # Reads one chunk of a chunked body: its payload, or nil after the last (zero) chunk, whose
  # trailer fields go to response.trailers when a response is given.
  def read_chunk(timeout: @timeout, deadline: now + timeout, response: nil)
    size_line = read_until("\r\n", deadline, limit: 4096, what: "chunk size")
    size_hex = size_line.split(";", 2).first.strip
    raise ParseError, "bad chunk size line: #{size_line.inspect}" unless size_hex =~ /\A\h+\z/

    size = size_hex.to_i(16)
    if size.zero?
      trailer = read_until("\r\n\r\n", deadline, limit: MAX_HEAD, what: "chunked trailer",
                           allow_empty_head: true)
      response.trailers = Headers.new(parse_fields(trailer.split("\r\n"))) if response
      return nil
    end
    data = read_exactly(size, deadline, what: "chunk of #{size} bytes")
    crlf = read_exactly(2, deadline, what: "CRLF after chunk")
    raise ParseError, "chunk not followed by CRLF: #{crlf.inspect}" unless crlf == "\r\n"

    response.chunks << data if response
    data
  end

  # Whatever bytes arrive next (at least one), or nil at end of stream; for streamed bodies
  # that are not chunked.
  def read_partial(timeout: @timeout)
    deadline = now + timeout
    fill(deadline) while @buf.empty? && !@eof
    return nil if @buf.empty?

    take(@buf.bytesize)
  end

  # Everything until the peer closes the connection.
  def read_to_eof(deadline = now + @timeout)
    fill(deadline) until @eof
    take(@buf.bytesize)
  end

  # True when the peer closes (or resets) the connection within the timeout; false if it is
  # still open then. Bytes that arrive meanwhile are kept for later reads.
  def closed_by_peer?(timeout = @timeout)
    deadline = now + timeout
    fill(deadline) until @eof
    true
  rescue Timeout
    false
  end

  # Whether the peer has reset the connection (as seen by a read).
  def reset?
    @reset
  end

  # Bytes received but not consumed yet.
  def buffered
    @buf.dup
  end

  def closed?
    @socket.closed?
  end

  def close
    @socket.close unless @socket.closed?
  rescue IOError, SystemCallError
    nil
  end

  # Half-closes the connection (no more requests); the responses can still be read.
  def close_write
    @socket.close_write
  rescue IOError, SystemCallError
    nil
  end

  def inspect
    "#<RawHttp #{@host}:#{@port}#{' closed' if closed?}>"
  end

  private

  def now
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  def wait(direction, deadline)
    remaining = deadline - now
    return nil if remaining <= 0

    direction == :read ? IO.select([@socket], nil, nil, remaining) : IO.select(nil, [@socket], nil, remaining)
  end

  # Reads whatever is available into the buffer, waiting at most until the deadline.
  def fill(deadline)
    raise ClosedError, "connection closed by peer" if @eof

    loop do
      data = @socket.read_nonblock(READ_SIZE, exception: false)
      case data
      when :wait_readable
        wait(:read, deadline) or raise Timeout, "timed out waiting for data (buffered: #{@buf.inspect[0, 200]})"
      when nil
        @eof = true
        return
      else
        @buf << data.b
        return
      end
    end
  rescue Errno::ECONNRESET, Errno::EPIPE
    @eof = true
    @reset = true
  end

  def take(n)
    @buf.slice!(0, n)
  end

  def read_until(delimiter, deadline, limit:, what:, allow_empty_head: false)
    # A section with no fields (a chunked body's trailer, usually) is a lone CRLF.
    if allow_empty_head
      ensure_bytes(2, deadline, what)
      if @buf.start_with?("\r\n")
        take(2)
        return String.new(encoding: Encoding::BINARY)
      end
    end

    until (idx = @buf.index(delimiter))
      raise ParseError, "#{what} longer than #{limit} bytes" if @buf.bytesize > limit
      raise ClosedError, "connection closed before #{what} (got #{@buf.inspect[0, 200]})" if @eof

      fill(deadline)
    end
    line = take(idx)
    take(delimiter.bytesize)
    line
  end

  def ensure_bytes(n, deadline, what)
    while @buf.bytesize < n
      raise ClosedError, "connection closed before #{what} (got #{@buf.inspect[0, 200]})" if @eof

      fill(deadline)
    end
    true
  end

  def read_exactly(n, deadline, what:)
    ensure_bytes(n, deadline, what)
    take(n)
  end

  def parse_fields(lines)
    lines.map do |line|
      name, value = line.split(":", 2)
      raise ParseError, "bad header line: #{line.inspect}" if value.nil? || name.empty? || name =~ /\s/

      [name, value.strip]
    end
  end
end
