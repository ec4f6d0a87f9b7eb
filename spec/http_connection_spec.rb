# frozen_string_literal: true

require "spec_helper"

# Connection handling: keep-alive, pipelining, timeouts, limits and bad input, all over raw
# sockets, the way misbehaving clients really send them.
RSpec.describe "connections" do
  CONNECTIONS_APP = lambda do |env|
    case env["PATH_INFO"]
    when "/sleep" then sleep(Float(env["QUERY_STRING"]))
    when "/echo" then return [200, {}, [env["rack.input"].read]]
    end
    [200, { "content-type" => "text/plain" }, [env["PATH_INFO"]]]
  end

  before(:all) do
    @server = serve(CONNECTIONS_APP, threads: 2, queue: 2, header_timeout: 1, idle_timeout: 1.5, max_body: 10_000)
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
      ["POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n#{"2710\r\n#{'x' * 10_000}\r\n" * 2}", 413]
  }.each do |what, (raw, status)|
    it "answers #{what} with #{status} and closes the connection" do
      log = capture_log do
        connect do |http|
          http.request(raw)
          res = http.read_response
          expect(res.status).to eq(status)
          expect(http.closed_by_peer?(2)).to be(true)
        end
      end
      expect(log).to include(" #{status}: ")
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
