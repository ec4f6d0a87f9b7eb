# frozen_string_literal: true

require "spec_helper"
require "rack/lint"
require "piston/lint_upgrades"

# Piston::LintUpgrades alone: what it puts inside Rack::Lint, and which responses it changes.
# (spec/gem_rackup_examples_spec.rb drives the same through rackup and real clients.)
RSpec.describe Piston::LintUpgrades do
  let(:upgrade_app) do
    lambda do |env|
      env["rack.upgrade"] = Object.new
      [env["test.status"] || 0, {}, []]
    end
  end

  def status_for(app, upgrade, status)
    env = { "rack.upgrade?" => upgrade, "test.status" => status }
    Piston::LintUpgrades::UpgradeStatus.new(app).call(env)[0]
  end

  it "shows an upgrade as the status the server sends: 101 for WebSocket, 200 for SSE" do
    expect(status_for(upgrade_app, :websocket, 0)).to eq(101)
    expect(status_for(upgrade_app, :websocket, -1)).to eq(101)
    expect(status_for(upgrade_app, :sse, 0)).to eq(200)
    expect(status_for(upgrade_app, :sse, 101)).to eq(200)
  end

  it "leaves a refused upgrade (300 or more), a plain request and a non-upgrade as they are" do
    expect(status_for(upgrade_app, :websocket, 401)).to eq(401)
    expect(status_for(upgrade_app, nil, 0)).to eq(0)
    plain = ->(_env) { [0, {}, []] }
    expect(status_for(plain, :websocket, nil)).to eq(0)
  end

  it "goes inside each Rack::Lint of a middleware chain once, and nowhere else" do
    inner_lint = Rack::Lint.new(upgrade_app)
    outer = Rack::ContentLength.new(Rack::Lint.new(Rack::TempfileReaper.new(inner_lint)))
    expect(described_class.install(outer)).to eq(2)
    expect(described_class.install(outer)).to eq(0)
    expect(inner_lint.instance_variable_get(:@app)).to be_a(Piston::LintUpgrades::UpgradeStatus)
  end

  it "lets an upgrade through Lint, and Lint still rejects the same answer to a plain request" do
    app = Rack::Lint.new(upgrade_app)
    described_class.install(app)
    env = Rack::MockRequest.env_for("/", "rack.upgrade?" => :websocket)
    expect(app.call(env)[0]).to eq(101)
    plain = Rack::MockRequest.env_for("/")
    expect { app.call(plain) }.to raise_error(Rack::Lint::LintError, /Status must be/)
  end

  it "leaves a frozen Lint alone rather than failing the start" do
    app = Rack::Lint.new(upgrade_app).freeze
    expect(described_class.install(app)).to eq(0)
  end
end
