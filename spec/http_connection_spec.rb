# frozen_string_literal: true

require "spec_helper"

# Connection handling: keep-alive, pipelining, timeouts, limits and bad input, all over raw
# sockets, the way misbehaving clients really send them.
RSpec.describe "connections" do
  # Every body the app was given: a malformed one must never get here.
  CONNECTIONS_BODIES = Queue.new
  CONNECTIONS_APP = lambda do |env|
    case env["PATH_INFO"]
    when "/sleep" then sleep(Float(env["QUERY_STRING"]))
    when "/echo"
      body = env["rack.input"].read
      CONNECTIONS_BODIES << body
      return [200, {}, [body]]
    end
    [200, { "content-type" => "text/plain" }, [env["PATH_INFO"]]]
  end

  def self.chunked_post(body)
    "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n#{body}"
  end

  before(:all) do
    @server = serve(CONNECTIONS_APP, threads: 2, queue: 2, header_timeout: 1, body_timeout: 1,
                                        idle_timeout: 1.5, max_body: 10_000)
  end
  after(:all) { @server&.stop }

  def connect(timeout: 5, &block)
    RawHttp.open("127.0.0.1", @server.port, timeout: timeout, &block)
  end

  it "keeps a connection alive across requests" do
    connect do |http|
      3.times do |i|
        http.request("GET /k#{i} HTTP/1.1\r\nHost: h\r\n\r\n")
        expect(http.read_response.body).to eq("/k#{i}")
      end
    end
  end

  it "answers pipelined requests in order, even when the first is the slowest" do
    connect do |http|
      http.request("GET /sleep HTTP/1.1\r\nHost: h\r\n\r\n".sub("/sleep", "/sleep?0.5") +
                   "GET /second HTTP/1.1\r\nHost: h\r\n\r\nGET /third HTTP/1.1\r\nHost: h\r\n\r\n")
      expect(3.times.map { http.read_response.body }).to eq(["/sleep", "/second", "/third"])
    end
  end

  it "closes after Connection: close" do
    connect do |http|
      http.request("GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
      expect(http.read_response["connection"]).to eq("close")
      expect(http.closed_by_peer?(2)).to be(true)
    end
  end

  it "keeps an HTTP/1.0 keep-alive connection open" do
    connect do |http|
      http.request("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
      expect(http.read_response["connection"]).to match(/keep-alive/i)
      http.request("GET /b HTTP/1.0\r\n\r\n")
      expect(http.read_response.body).to eq("/b")
      expect(http.closed_by_peer?(2)).to be(true)
    end
  end

  it "closes an idle keep-alive connection after the idle timeout" do
    connect do |http|
      http.request("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
      http.read_response
      expect(http.closed_by_peer?(4)).to be(true)
    end
  end

  it "cuts off a client that sends its headers too slowly (slowloris) with 408" do
    connect do |http|
      http.request("GET / HTTP/1.1\r\n")
      sleep 0.6
      http.request("X-Slow: 1\r\n")
      res = http.read_response(timeout: 4)
      expect(res.status).to eq(408)
      expect(http.closed_by_peer?(2)).to be(true)
    end
  end

  {
    "a malformed request line" => ["NOT HTTP AT ALL\r\n\r\n", 400],
    "a request line over the limit" => ["GET /#{'a' * 9000} HTTP/1.1\r\nHost: h\r\n\r\n", 414],
    "headers over the limit" => ["GET / HTTP/1.1\r\nHost: h\r\nX-Big: #{'b' * 20_000}\r\n\r\n", 431],
    "Content-Length with Transfer-Encoding" =>
      ["POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    "an invalid Content-Length" => ["POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 12x\r\n\r\n", 400],
    "two different Content-Lengths" =>
      ["POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400],
    "a body over --max-body" => ["POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 20000\r\n\r\n", 413],
    "a chunked body over --max-body" =>
      ["POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n#{"2710\r\n#{'x' * 10_000}\r\n" * 2}", 413],
    "a chunk size that is not hex" => [chunked_post("zz\r\nhello\r\n0\r\n\r\n"), 400],
    "a chunk size that overflows" => [chunked_post("ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), 400],
    "chunk data longer than its size" => [chunked_post("5\r\nhelloabc\r\n0\r\n\r\n"), 400],
    "a transfer coding it does not implement" =>
      ["POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501],
    "a Transfer-Encoding that does not end in chunked" =>
      ["POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400],
    "an HTTP/1.1 request without Host" => ["GET / HTTP/1.1\r\n\r\n", 400],
    "two Host headers" => ["GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
    "an invalid Host" => ["GET / HTTP/1.1\r\nHost: a<b>:80\r\n\r\n", 400],
    "a Host with a port that is not a number" => ["GET / HTTP/1.1\r\nHost: h:8o\r\n\r\n", 400],
    "an invalid authority in an absolute-form target" => ["GET http://a<b>/ HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    "HTTP/2.0" => ["GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505],
    "HTTP/3.7" => ["GET / HTTP/3.7\r\nHost: h\r\n\r\n", 505],
    "HTTP/1.2" => ["GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505],
    "the HTTP/2 connection preface" => ["PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505],
    "a NUL in the request target" => ["GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    "a control character in the request target" => ["GET /a\x01b HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    "a DEL in the request target" => ["GET /a\x7fb HTTP/1.1\r\nHost: h\r\n\r\n", 400]
  }.each do |what, (raw, status)|
    it "answers #{what} with #{status} and closes the connection, the app never called" do
      CONNECTIONS_BODIES.clear
      log = capture_log do
        connect do |http|
          http.request(raw)
          res = http.read_response
          expect(res.status).to eq(status)
          expect(http.closed_by_peer?(2)).to be(true)
        end
      end
      expect(log).to include(" #{status}: ")
      expect(CONNECTIONS_BODIES.size).to eq(0)
    end
  end

  {
    "a Content-Length body" => "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n",
    "a chunked body" => "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    "a body after 100 Continue" => "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
    "the rest of a body" => "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc"
  }.each do |what, raw|
    it "answers 408 and closes when #{what} never comes (--body-timeout)" do
      log = capture_log do
        connect(timeout: 6) do |http|
          started = Time.now
          http.request(raw)
          res = http.read_response(skip_interim: true)
          expect(res.status).to eq(408)
          expect(Time.now - started).to be_between(0.9, 4)
          expect(http.closed_by_peer?(2)).to be(true)
        end
      end
      expect(log).to include(" 408: ")
    end
  end

  it "does not let a body trickled a byte at a time reset the body timeout" do
    connect(timeout: 8) do |http|
      started = Time.now
      http.request("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n")
      status = nil
      30.times do # at most 6 s: far past the 1 s body timeout plus what 30 bytes buy
        http.write("x")
        status = http.read_response(timeout: 0.2).status
        break
      rescue RawHttp::Timeout
        next
      end
      expect(status).to eq(408)
      expect(Time.now - started).to be < 4
    end
  end

  it "lets a body that keeps coming at a fair rate take longer than the body timeout" do
    server = serve(CONNECTIONS_APP, body_timeout: 0.5, max_body: 1_000_000)
    RawHttp.open("127.0.0.1", server.port, timeout: 8) do |http|
      piece = "y" * 16_384 # each buys the client one more second
      http.request("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: #{piece.bytesize * 8}\r\n\r\n")
      8.times { sleep 0.2; http.write(piece) } # 1.6 s in all, over three times the body timeout
      expect(http.read_response.body.bytesize).to eq(piece.bytesize * 8)
    end
  end

  it "answers 503 when every worker is busy and the queue is full, then recovers" do
    sockets = Array.new(6) do
      s = TCPSocket.new("127.0.0.1", @server.port)
      s.write("GET /sleep?1.5 HTTP/1.1\r\nHost: h\r\n\r\n")
      s
    end
    responses = sockets.map { |s| read_status(s) }
    expect(responses.count(503)).to be >= 1
    expect(responses.count(200)).to be >= 2
    connect { |http| expect(http.get("/after").status).to eq(200) }
  ensure
    sockets&.each(&:close)
  end

  def read_status(socket)
    deadline = Time.now + 8
    data = +""
    until data.include?("\r\n") || Time.now > deadline
      ready = IO.select([socket], nil, nil, 0.5)
      data << socket.readpartial(4096) if ready
    end
    data[/\AHTTP\/1\.1 (\d{3})/, 1].to_i
  end
end
