# frozen_string_literal: true

require "spec_helper"

# The test helpers themselves, against real sockets: a tiny TCPServer answers each request
# it reads with the next canned response, byte for byte. Nothing here loads Piston.
RSpec.describe "spec support" do
  # Accepts one connection; for each canned response reads one request head (and the body its
  # Content-Length announces), then writes the response. A Proc is called with the socket
  # instead. Closes the connection at the end if close: is true, else keeps it open.
  class CannedServer
    attr_reader :port, :requests

    def initialize(responses, close: false, read_requests: true)
      @server = TCPServer.new("127.0.0.1", 0)
      @port = @server.addr[1]
      @requests = Queue.new
      @thread = Thread.new do
        next unless IO.select([@server], nil, nil, 10)

        sock = @server.accept
        buf = +""
        responses.each do |res|
          buf = read_request(sock, buf) if read_requests
          res.is_a?(Proc) ? res.call(sock) : sock.write(res)
        end
        if close
          sock.close
        else
          IO.select([sock], nil, nil, 10) # keep it open until the client closes (or 10 s)
          sock.close
        end
      rescue IOError, SystemCallError
        nil
      end
    end

    def stop
      @thread.join(5) || @thread.kill
      @server.close
    end

    private

    def read_request(sock, buf)
      until (i = buf.index("\r\n\r\n"))
        return buf unless IO.select([sock], nil, nil, 5)

        buf << sock.readpartial(4096)
      end
      head = buf.slice!(0, i + 4)
      length = head[/^content-length:\s*(\d+)/i, 1].to_i
      buf << sock.readpartial(4096) while buf.bytesize < length && IO.select([sock], nil, nil, 5)
      @requests << head + buf.slice!(0, length)
      buf
    end
  end

  def canned(*responses, **opts)
    @canned = CannedServer.new(responses, **opts)
    @http = RawHttp.new("127.0.0.1", @canned.port, timeout: 3)
  end

  after do
    @http&.close
    @canned&.stop
  end

  it "runs on the Rack version bin/test asked for" do
    expected = ENV["PISTON_SPEC_RACK"]
    skip "PISTON_SPEC_RACK not set (not run through bin/test)" unless expected
    expect(Rack.release).to start_with("#{expected}.")
    expect(Gem.loaded_specs["rack"].version.to_s).to eq(Rack.release)
  end

  it "turns config.ru source into a Rack app with this Rack version" do
    app = PistonSpec::Server.to_app(<<~RU)
      use Rack::ContentLength
      run ->(env) { [200, { "content-type" => "text/plain" }, ["ru:" + env["PATH_INFO"]]] }
    RU
    status, headers, body = app.call("REQUEST_METHOD" => "GET", "PATH_INFO" => "/x")
    expect(status).to eq(200)
    expect(headers.to_h.transform_keys(&:downcase)).to include("content-length" => "5")
    expect(body.to_enum(:each).to_a.join).to eq("ru:/x")
  end

  describe RawHttp do
    it "reads a Content-Length response and keeps the connection for a second request" do
      canned("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
             "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
      res = @http.get("/one", "X-Test" => "1")
      expect([res.version, res.status, res.reason]).to eq(["HTTP/1.1", 200, "OK"])
      expect(res["content-type"]).to eq("text/plain")
      expect(res["CONTENT-TYPE"]).to eq("text/plain")
      expect(res.body).to eq("hello")
      expect(res.framing).to eq(:content_length)
      expect(res.chunked?).to be(false)
      expect(res.keep_alive?).to be(true)

      res2 = @http.get("/two")
      expect([res2.status, res2.body]).to eq([404, ""])
      expect(@canned.requests.pop).to start_with("GET /one HTTP/1.1\r\nHost: 127.0.0.1:#{@canned.port}\r\nX-Test: 1\r\n")
      expect(@canned.requests.pop).to start_with("GET /two HTTP/1.1\r\n")
    end

    it "decodes a chunked body with extensions and trailers" do
      canned("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" \
             "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Checksum: abc\r\n\r\n",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nend\r\n0\r\n\r\n")
      res = @http.get("/")
      expect(res.chunked?).to be(true)
      expect(res.framing).to eq(:chunked)
      expect(res.body).to eq("hello, world")
      expect(res.chunks).to eq(["hello", ", world"])
      expect(res.trailers["x-checksum"]).to eq("abc")

      res2 = @http.get("/again")
      expect([res2.body, res2.trailers.empty?]).to eq(["end", true])
    end

    it "keeps duplicate headers such as two Set-Cookie lines, in order" do
      canned("HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nContent-Length: 0\r\nset-cookie: b=2\r\n\r\n")
      res = @http.get("/")
      expect(res.headers.values("Set-Cookie")).to eq(["a=1; Path=/", "b=2"])
      expect(res["set-cookie"]).to eq("a=1; Path=/")
      expect(res.headers.names).to eq(["Set-Cookie", "Content-Length", "set-cookie"])
      expect(res.headers.to_h["set-cookie"]).to eq(["a=1; Path=/", "b=2"])
    end

    it "reads a body delimited by the server closing the connection" do
      canned("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", close: true)
      res = @http.get("/", {}, version: "HTTP/1.0")
      expect(res.body).to eq("until the end")
      expect(res.framing).to eq(:close)
      expect(res.keep_alive?).to be(false)
      expect(@http.closed_by_peer?(1)).to be(true)
    end

    it "tells whether the peer closed the connection" do
      canned("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
      expect(@http.get("/").body).to eq("ok")
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect(@http.closed_by_peer?(0.3)).to be(false)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be_between(0.25, 2)
    end

    it "answers pipelined requests in order, from one write" do
      both = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA" \
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nB\r\n0\r\n\r\n"
      canned(both)
      @http.request("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n")
      expect([@http.read_response.body, @http.read_response.body]).to eq(%w[A B])
    end

    it "reads no body after HEAD, even with a Content-Length" do
      canned("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
             "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nget")
      head = @http.head("/")
      expect([head.status, head["content-length"], head.body]).to eq([200, "11", ""])
      expect(@http.get("/").body).to eq("get")
    end

    it "returns 1xx responses on their own, or skips them" do
      interim_and_final = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone"
      canned(interim_and_final, interim_and_final)
      post = "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"
      @http.request(post)
      expect(@http.read_response.status).to eq(100)
      expect(@http.read_response.body).to eq("done")
      @http.request(post)
      res = @http.read_response(skip_interim: true)
      expect([res.status, res.body]).to eq([201, "done"])
    end

    it "streams a chunked body chunk by chunk" do
      canned(lambda do |s|
        s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n")
        sleep 0.3
        s.write("7\r\nsecond\n\r\n0\r\n\r\n")
      end)
      @http.request("GET /stream HTTP/1.1\r\nHost: h\r\n\r\n")
      head = @http.read_head
      expect(head.status).to eq(200)
      expect(@http.read_chunk(timeout: 2)).to eq("first\n")
      expect(@http.read_chunk(timeout: 2)).to eq("second\n")
      expect(@http.read_chunk(timeout: 2)).to be_nil
    end

    it "times out instead of waiting forever" do
      canned(->(s) { s.write("HTTP/1.1 200 OK\r\n") }) # never finishes the head
      @http.request("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect { @http.read_response(timeout: 0.3) }.to raise_error(RawHttp::Timeout)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 2
    end

    it "raises RawHttp::Error when the connection closes mid-body" do
      canned("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\ntoo short", close: true)
      expect { @http.get("/") }.to raise_error(RawHttp::ClosedError)
    end

    it "rejects what is not an HTTP response" do
      canned("SSH-2.0-OpenSSH\r\n\r\n")
      expect { @http.get("/") }.to raise_error(RawHttp::ParseError)
    end
  end

  describe RawWebSocket do
    # Frames of 126 and 127 bytes carry a 16-bit length; 127 must not be read as the 64-bit marker.
    [125, 126, 127, 65_535, 65_536].each do |size|
      it "reads a frame of #{size} bytes" do
        payload = "x" * size
        frames = RawWebSocket.frame(:text, payload, mask: false) + RawWebSocket.frame(:ping, "after", mask: false)
        srv = CannedServer.new([frames], read_requests: false)
        ws = RawWebSocket.new("127.0.0.1", srv.port)
        expect(ws.read_frame.payload).to eq(payload)
        expect(ws.read_frame.payload).to eq("after")
        ws.close_socket
      end
    end
  end

  describe PistonSpec::Cli do
    it "waits for the Listening line, captures output and leaves no process behind" do
      script = "sleep 300 & echo \"child $!\"; echo oops >&2; echo 'Listening on http://127.0.0.1:4567'; wait"
      cli = start_piston(command: ["sh", "-c", script], timeout: 10)
      expect([cli.host, cli.port]).to eq(["127.0.0.1", 4567])
      expect(cli.stdout).to include("child ")
      cli.wait_for_output(/oops/, 5)
      expect(cli.stderr).to eq("oops\n")
      child = cli.stdout[/child (\d+)/, 1].to_i

      status = cli.stop(timeout: 5)
      expect(status).to be_a(Process::Status)
      expect(cli.alive?).to be(false)
      # The background child was in the same process group: killed too (gone, or a zombie
      # waiting for init to reap it).
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 5
      state = nil
      loop do
        state = File.read("/proc/#{child}/stat").split[2] rescue nil # rubocop:disable Style/RescueModifier
        break if state.nil? || state == "Z" || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.05
      end
      expect(state).to be_nil.or eq("Z")
    end

    it "fails with the output when the process exits before listening" do
      expect do
        start_piston(command: ["sh", "-c", "echo 'cannot start'; exit 3"], timeout: 10)
      end.to raise_error(RuntimeError, /exited.*cannot start/m)
    end

    it "fails with the output when no Listening line comes in time" do
      expect do
        start_piston(command: ["sh", "-c", "echo starting; exec sleep 30"], timeout: 0.5)
      end.to raise_error(RuntimeError, /timed out.*starting/m)
      expect(PistonSpec::Cli.running).to be_empty
    end
  end
end
