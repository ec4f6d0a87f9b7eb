# frozen_string_literal: true

require "json"

# The gem as users get it: built by `mvn package`, installed into a temporary GEM_HOME, started by
# the rackup of this run's Rack (rack 2.2's, or rackup 2 with rack 3), with the checkout's
# ruby/lib off the load path. One server for the file: JRuby is slow to start.
RSpec.describe "the piston gem under rackup", timeout: 120 do
  before(:all) do
    @server = PistonSpec::Cli.start(
      command: [*PistonSpec::GemInstall.jruby, PistonSpec::GemInstall.rackup_bin, "-s", "piston",
                "-o", "127.0.0.1", "-p", "0", "-O", "Threads=2:3", "-O", "MaxBody=1k",
                File.join(PistonSpec::Cli::ROOT, "spec/fixtures/gem_where.ru")],
      env: PistonSpec::GemInstall.env, timeout: 90
    )
    @server.owner = self.class
  end

  let(:server) { @server }

  it "serves the app with Piston loaded from the installed gem" do
    res = RawHttp.get(server.host, server.port, "/where")
    expect(res.status).to eq(200)
    where = JSON.parse(res.body)
    expect(where["gem_dir"]).to start_with(PistonSpec::GemInstall.home)
    expect(where["piston_rb"]).to start_with(PistonSpec::GemInstall.home)
    expect(where["rack"]).to eq(Rack.release)
    expect(where["handler"]).to eq(Rack.release.start_with?("2.") ? "Rack::Handler::Piston" : "Rackup::Handler::Piston")
    expect(where["unshaded_netty"]).to be(false)
    expect(res["server"].to_s + server.output).to include("Piston")
  end

  it "starts a Redis engine with the Redis client the gem carries in a jar of its own" do
    url = "redis://127.0.0.1:#{PistonSpec::RedisServer.free_port}/0"
    res = RawHttp.get(server.host, server.port, "/redis?#{url}")
    expect([res.status, res.body]).to eq([200, "Redis #{url}"])
  end

  it "runs on the relocated Netty's native transport, with -O Threads" do
    expect(server.output).to include("Transport: #{PistonSpec::TRANSPORT}")
    expect(server.output).to include("Ruby threads: 3")
    expect(server.output).not_to match(/WEBrick/i)
  end

  it "passes -O MaxBody through" do
    RawHttp.open(server.host, server.port) do |http|
      expect(http.post("/echo", "x" * 1000).body).to eq("got 1000 bytes\n")
      expect(http.post("/echo", "x" * 2000).status).to eq(413)
    end
  end

  it "keeps rackup's Rack::Lint (development) checking a response that is not an upgrade" do
    res = RawHttp.get(server.host, server.port, "/not-upgradeable")
    expect(res.status).to eq(500)
    server.wait_for_output(/Status must be/, 10)
  end

  it "lists its -O options in `rackup -h`, found through RACKUP_HANDLER / RACK_HANDLER" do
    var = Rack.release.start_with?("2.") ? "RACK_HANDLER" : "RACKUP_HANDLER"
    out, status = Open3.capture2e(PistonSpec::GemInstall.env(var => "piston"), *PistonSpec::GemInstall.jruby,
                                  PistonSpec::GemInstall.rackup_bin, "-h", in: File::NULL)
    expect(status).to be_success, out
    expect(out).to match(/Server-specific options for Rack(up)?::Handler::Piston/)
    expect(out).to include("-O Threads=N", "-O MaxBody=SIZE", "-O AccessLog=FILE", "-O IdleTimeout=SECONDS")
  end

  it "stops gracefully on INT" do
    server.signal("INT")
    status = server.wait(30)
    expect(status).not_to be_nil
    expect(status.success?).to be(true), server.output
    expect(server.output).to include("INT received, stopping gracefully")
  end
end
