# frozen_string_literal: true

require "spec_helper"

# rack.hijack (full and partial), rack.early_hints, rack.response_finished and rack.after_reply.
RSpec.describe "hijack and response callbacks" do
  HIJACK_EVENTS = Queue.new

  HIJACK_APP = lambda do |env|
    env["rack.after_reply"] << -> { HIJACK_EVENTS << [:after_reply, env["PATH_INFO"]] }
    env["rack.response_finished"] << ->(e, status, _headers, error) { HIJACK_EVENTS << [:finished, e["PATH_INFO"], status, error&.message] }
    case env["PATH_INFO"]
    when "/full"
      io = env["rack.hijack"].call
      Thread.new do
        line = io.readpartial(100)
        io.write("HTTP/1.1 200 OK\r\nContent-Length: #{line.bytesize}\r\nConnection: close\r\n\r\n#{line}")
        io.close
      end
      [200, {}, []]
    when "/partial"
      [200, { "rack.hijack" => lambda { |io|
        io.write("raw partial body")
        io.close
      } }, []]
    when "/hints"
      env["rack.early_hints"].call("link" => "</style.css>; rel=preload; as=style")
      [200, {}, ["final"]]
    when "/raise" then raise "callbacks still run"
    else [200, {}, ["ok"]]
    end
  end

  before(:all) { @server = serve(HIJACK_APP, threads: 4) }
  after(:all) { @server&.stop }
  before { HIJACK_EVENTS.clear }

  # The next count events of requests to path: every request queues some, after its response,
  # so an earlier example's may still be landing here.
  def events(path, count)
    found = []
    Timeout.timeout(5) do
      while found.size < count
        e = HIJACK_EVENTS.pop
        found << e if e[1] == path
      end
    end
    found
  end

  it "hands the raw connection to the app on a full hijack" do
    RawHttp.open("127.0.0.1", @server.port) do |http|
      http.request("GET /full HTTP/1.1\r\nHost: h\r\n\r\n")
      sleep 0.2
      http.request("ping from client")
      res = http.read_response
      expect(res.body).to eq("ping from client")
    end
  end

  it "sends the headers and lets the app write the body on a partial hijack" do
    RawHttp.open("127.0.0.1", @server.port) do |http|
      http.request("GET /partial HTTP/1.1\r\nHost: h\r\n\r\n")
      res = http.read_response
      expect(res.status).to eq(200)
      expect(res.body).to eq("raw partial body")
    end
  end

  it "sends 103 Early Hints before the final response" do
    RawHttp.open("127.0.0.1", @server.port) do |http|
      http.request("GET /hints HTTP/1.1\r\nHost: h\r\n\r\n")
      hints = http.read_response
      expect(hints.status).to eq(103)
      expect(hints["link"]).to include("rel=preload")
      expect(http.read_response.body).to eq("final")
    end
  end

  it "runs rack.response_finished and rack.after_reply after the response" do
    RawHttp.get("127.0.0.1", @server.port, "/plain")
    expect(events("/plain", 2)).to contain_exactly([:finished, "/plain", 200, nil], [:after_reply, "/plain"])
  end

  it "runs them when the app raised too, with the error" do
    RawHttp.get("127.0.0.1", @server.port, "/raise")
    expect(events("/raise", 2)).to contain_exactly([:finished, "/raise", 500, "callbacks still run"], [:after_reply, "/raise"])
  end
end
