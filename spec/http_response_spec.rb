# frozen_string_literal: true

require "spec_helper"
require "rack"
require "tempfile"

# How Piston writes what an app returns: every kind of Rack body, status codes without bodies,
# multi-value headers, refused headers, and body.close on every path.
RSpec.describe "responses" do
  RESPONSES_RACK3 = !Rack.release.start_with?("2.")
  RESPONSES_CLOSED = Queue.new

  # A body that records its close and can be told to raise or to go slowly.
  class TrackedBody
    def initialize(name, parts, delay: 0, raise_after: nil)
      @name, @parts, @delay, @raise_after = name, parts, delay, raise_after
    end

    def each
      @parts.each_with_index do |part, i|
        raise "body failed on purpose" if @raise_after && i == @raise_after

        sleep @delay if @delay.positive?
        yield part
      end
    end

    def close
      RESPONSES_CLOSED << @name
    end
  end

  RESPONSES_APP = lambda do |env|
    case env["PATH_INFO"]
    when "/array" then [200, { "content-type" => "text/plain" }, ["hello ", "world"]]
    when "/each" then [200, { "content-type" => "text/plain" }, TrackedBody.new("each", %w[a b c])]
    when "/slow" then [200, {}, TrackedBody.new("slow", ["first\n", "second\n"], delay: 1.0)]
    when "/big" then [200, {}, TrackedBody.new("big", Array.new(400) { "x" * 65_536 })]
    when "/raise-midway" then [200, {}, TrackedBody.new("raise-midway", %w[a b c], raise_after: 1)]
    when "/file"
      [200, { "content-type" => "application/octet-stream" }, FileBody.new(env["QUERY_STRING"])]
    when "/stream"
      [200, { "content-type" => "text/plain" }, lambda { |stream|
        stream.write("streamed ")
        stream.write("body")
        stream.close
      }]
    when "/length"
      value = { "given" => "5", "nil" => nil, "empty" => [] }.fetch(env["QUERY_STRING"])
      [200, { "content-length" => value }, ["hello"]]
    when "/length-lies"
      # The declared length and the body disagree: "short" / "long" Array bodies, and streamed
      # ("each-short", "each-long") ones.
      kind = env["QUERY_STRING"]
      body = kind.start_with?("each") ? TrackedBody.new(kind, %w[ab cd]) : [kind.end_with?("short") ? "short" : "longer"]
      [200, { "content-length" => kind.end_with?("short") ? "100" : "3" }, body]
    when "/no-content" then [204, { "content-length" => "0" }, TrackedBody.new("204", [])]
    when "/not-modified" then [304, {}, []]
    when "/cookies"
      cookies = RESPONSES_RACK3 ? ["a=1", "b=2"] : "a=1\nb=2"
      [200, { "set-cookie" => cookies, "content-type" => "text/plain" }, ["ok"]]
    when "/crlf-value" then [200, { "x-bad" => "a\r\nInjected: yes" }, ["no"]]
    when "/lf-name" then [200, { "x-bad\nInjected" => "yes" }, ["no"]]
    when "/crlf-name" then [200, { "x-bad\r\n2026-01-01 00:00:00.000 INFO [forged] x" => "yes" }, ["no"]]
    when "/nul-value" then [200, { "x-bad" => "a\0b" }, ["no"]]
    when "/raise" then raise "app failed on purpose"
    when "/not-a-response" then :nonsense
    else [404, {}, ["not found"]]
    end
  end

  # A to_path body: the server sends the file itself.
  class FileBody
    def initialize(path)
      @path = path
    end

    def to_path
      @path
    end

    def each
      yield File.binread(@path)
    end

    def close
      RESPONSES_CLOSED << "file"
    end
  end

  before(:all) { @server = serve(RESPONSES_APP, threads: 4, write_timeout: 3) }
  after(:all) { @server&.stop }

  before { RESPONSES_CLOSED.clear }

  def get(path, method: "GET")
    RawHttp.open("127.0.0.1", @server.port, timeout: 10) do |http|
      http.request("#{method} #{path} HTTP/1.1\r\nHost: h\r\n\r\n")
      http.read_response
    end
  end

  def closed_bodies(count, timeout: 5)
    Array.new(count) { Timeout.timeout(timeout) { RESPONSES_CLOSED.pop } }
  end

  it "sends an Array body with a Content-Length" do
    res = get("/array")
    expect(res.status).to eq(200)
    expect(res.body).to eq("hello world")
    expect(res["content-length"]).to eq("11")
  end

  it "keeps the app's Content-Length, and counts the body when the app's value is nil or empty" do
    RawHttp.open("127.0.0.1", @server.port, timeout: 10) do |http| # one keep-alive connection
      %w[given nil empty given nil].each do |kind|
        http.request("GET /length?#{kind} HTTP/1.1\r\nHost: h\r\n\r\n")
        res = http.read_response
        expect([kind, res.status, res["content-length"], res.body]).to eq([kind, 200, "5", "hello"])
      end
    end
  end

  {
    "an Array body shorter" => ["short", "short"],
    "an Array body longer" => ["long", "lon"],
    "an each body shorter" => ["each-short", "abcd"],
    "an each body longer" => ["each-long", "abc"]
  }.each do |what, (kind, sent)|
    it "sends no more than the app's Content-Length and closes when #{what} than it declares" do
      log = capture_log do
        RawHttp.open("127.0.0.1", @server.port, timeout: 10) do |http|
          http.request("GET /length-lies?#{kind} HTTP/1.1\r\nHost: h\r\n\r\n")
          head = http.read_head
          expect(head.status).to eq(200)
          # The connection ends with this response: nothing after the declared bytes can be
          # taken for the start of another response.
          expect(http.read_to_eof).to eq(sent)
        end
      end
      expect(log).to include("app declared Content-Length").and include("/length-lies?#{kind}")
    end
  end

  it "keeps the connection when a HEAD response declares the GET body's length" do
    RawHttp.open("127.0.0.1", @server.port, timeout: 10) do |http|
      http.request("HEAD /length-lies?short HTTP/1.1\r\nHost: h\r\n\r\n")
      expect(http.read_response["content-length"]).to eq("100")
      expect(http.get("/array").body).to eq("hello world")
    end
  end

  it "sends an each body chunked and closes it" do
    res = get("/each")
    expect(res.chunked?).to be(true)
    expect(res.body).to eq("abc")
    expect(closed_bodies(1)).to eq(["each"])
  end

  it "sends each chunk as it is produced" do
    RawHttp.open("127.0.0.1", @server.port) do |http|
      http.request("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
      head = http.read_head
      expect(head.status).to eq(200)
      expect(http.read_chunk(timeout: 5)).to eq("first\n") # 1 s of sleep in a Ruby worker each
      expect(http.read_chunk(timeout: 5)).to eq("second\n")
    end
    expect(closed_bodies(1)).to eq(["slow"]) # closed after the last chunk: not in the next example's queue
  end

  it "sends a to_path body from the file and closes it" do
    file = Tempfile.new("piston-file")
    data = Random.new(3).bytes(300_000)
    file.binmode
    file.write(data)
    file.flush
    res = get("/file?#{file.path}")
    expect(res.body.bytesize).to eq(data.bytesize)
    expect(res.body).to eq(data)
    expect(res["content-length"]).to eq(data.bytesize.to_s)
    expect(closed_bodies(1)).to eq(["file"])
  ensure
    file&.close!
  end

  it "runs a rack 3 streaming body (call(stream))" do
    res = get("/stream")
    expect(res.status).to eq(200)
    expect(res.body).to eq("streamed body")
  end

  it "sends no body for HEAD, 204 and 304" do
    head = get("/array", method: "HEAD")
    expect(head["content-length"]).to eq("11")
    expect(head.body).to eq("")
    no_content = get("/no-content")
    expect(no_content.status).to eq(204)
    expect(no_content.headers).not_to include("transfer-encoding")
    expect(closed_bodies(1)).to eq(["204"])
    expect(get("/not-modified").status).to eq(304)
  end

  it "sends multi-value headers as separate lines" do
    res = get("/cookies")
    expect(res.headers.values("set-cookie")).to eq(["a=1", "b=2"])
  end

  %w[/crlf-value /lf-name /crlf-name /nul-value].each do |path|
    it "refuses a response header with CR, LF or NUL (#{path}) with a 500 and injects nothing" do
      res = nil
      log = capture_log { res = get(path) }
      expect(res.status).to eq(500)
      expect(res.headers).not_to include("injected")
      expect(res.headers).not_to include("x-bad")
      # The log says which header, with its CR and LF escaped: no forged line in the log either.
      expect(log).to include("refused the app's response to GET #{path}")
      expect(log.lines.size).to eq(1)
      expect(log).not_to include("\r")
    end
  end

  it "answers 500 when the app raises, logs the backtrace, and keeps serving" do
    log = capture_log { expect(get("/raise").status).to eq(500) }
    expect(log).to include("app failed on purpose")
    expect(log).to match(/http_response_spec\.rb:\d+/)
    expect(get("/array").status).to eq(200)
  end

  it "answers 500 when the app returns something that is not a response" do
    expect(get("/not-a-response").status).to eq(500)
  end

  it "cuts the response and still closes the body when it raises midway" do
    RawHttp.open("127.0.0.1", @server.port) do |http|
      http.request("GET /raise-midway HTTP/1.1\r\nHost: h\r\n\r\n")
      head_res = http.read_head
      expect(head_res.status).to eq(200)
      expect { http.read_body(head_res) }.to raise_error(RawHttp::Error)
    end
    expect(closed_bodies(1)).to eq(["raise-midway"])
  end

  it "holds back a large body for a client that does not read, then cuts it and closes the body" do
    sock = TCPSocket.new("127.0.0.1", @server.port)
    sock.setsockopt(Socket::SOL_SOCKET, Socket::SO_RCVBUF, 4096)
    sock.write("GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
    # 25 MB are on offer; the write timeout (3 s) cuts the connection long before they could pile up
    expect(closed_bodies(1, timeout: 15)).to eq(["big"]) # 3 s of timer, then a loaded machine
  ensure
    sock&.close
  end

  it "closes the body when the client disconnects mid-stream" do
    sock = TCPSocket.new("127.0.0.1", @server.port)
    sock.write("GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
    sleep 0.3
    sock.close
    expect(closed_bodies(1)).to eq(["slow"])
  end
end
