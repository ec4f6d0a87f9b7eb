# frozen_string_literal: true

require "spec_helper"
require "piston/cli"
require "piston/rack_handler"

# README.md's option table against the code that reads options: each row's flags must be what
# `piston` parses, its -O name what the rackup handler takes and lists, its keyword and default
# what Piston::Server uses, its meaning the help text; and every option must have one row.
RSpec.describe "the option table" do
  OPTIONS_README = File.expand_path("../README.md", __dir__)
  # A value of each kind, passed through the flags, -O names and keywords.
  OPTION_SAMPLES = { string: "x.example", int: "7", threads: "7", size: "64k", seconds: "7", bool: "false",
                     log: "/tmp/piston.log", redis_url: "redis://127.0.0.1:6379/0", transport: "nio" }.freeze
  NO_APP = ->(_env) { [200, {}, []] }

  # The rows of the Markdown table whose header starts "| `piston` flag |", as Hashes
  # (column => cell). A cell may hold an escaped \|.
  def table_rows(markdown)
    lines = markdown.lines.map(&:strip).drop_while { |l| !l.start_with?("| `piston` flag |") }
                    .take_while { |l| l.start_with?("|") }
    header, _rule, *rows = lines.map do |line|
      line.delete_prefix("|").delete_suffix("|").split(/(?<!\\)\|/).map { |cell| cell.strip.gsub("\\|", "|") }
    end
    rows.map { |cells| header.zip(cells).to_h }
  end

  # How the rows disagree with the code, one message each ([] when they agree).
  def disagreements(rows)
    problems = []
    names = rows.map { |row| row["`Piston::Server` keyword"].to_s[/\A`(\w+):`\z/, 1]&.to_sym }
    all = Piston::Options::ALL.map(&:name)
    problems << "options without a row: #{all - names}" unless (all - names).empty?
    problems << "rows that are no option: #{names - all}" unless (names - all).empty?
    problems << "options with two rows: #{names.tally.select { |_, n| n > 1 }.keys}" if names.uniq.size < names.size
    defaults = Piston::Server.new(NO_APP).options
    rows.zip(names).each do |row, name|
      option = Piston::Options::BY_NAME[name] or next
      problems.concat(flag_problems(option, row["`piston` flag"]),
                      rackup_problems(option, row["`rackup -O`"]),
                      default_problems(option, row["default"], defaults))
      problems << "#{name}: meaning #{row['meaning'].inspect}, help: #{option.help.inspect}" if row["meaning"] != option.help
    end
    problems
  end

  def sample(option)
    OPTION_SAMPLES.fetch(option.kind)
  end

  def flag_problems(option, cell)
    flags = cell == "–" ? [] : cell.to_s.scan(/`([^`]+)`/).flatten
    return ["#{option.name}: flags #{flags}, `piston --help` has #{option.flags.to_a}"] if flags != option.flags.to_a

    flags.filter_map do |flag|
      switch = flag.split.first
      # --[no-]deflate: the no- form, as the sample is "false".
      argv = option.kind == :bool ? [switch.sub("[no-]", "no-")] : [switch, sample(option)]
      expected = option.parse(sample(option))
      got = Piston::CLI.new(argv).parse(argv)[option.name]
      "#{option.name}: `piston #{argv.join(' ')}` sets #{got.inspect}, not #{expected.inspect}" if got != expected
    end
  end

  def rackup_problems(option, cell)
    if (m = cell.to_s.match(/\A`(\w+)=([^`]+)`\z/))
      handler = Object.new.extend(Piston::RackHandler)
      return ["#{option.name}: `rackup -s piston -h` does not list #{m[0]}"] unless handler.valid_options.key?(m[0].delete("`"))

      got = handler.server_options(m[1].to_sym => sample(option))[option.name]
      got == option.parse(sample(option)) ? [] : ["#{option.name}: -O #{m[1]}=#{sample(option)} sets #{got.inspect}"]
    elsif (m = cell.to_s.match(/\A\(rackup `([^`]+)`\)\z/))
      option.rackup_flag == m[1] && option.rackup.nil? ? [] : ["#{option.name}: rackup's #{m[1]}, code: -O #{option.rackup}"]
    else
      option.rackup.nil? && cell == "–" ? [] : ["#{option.name}: -O cell #{cell.inspect}, code: -O #{option.rackup}"]
    end
  end

  def default_problems(option, cell, defaults)
    problems = []
    given = Piston::Server.new(NO_APP, option.name => sample(option)).options[option.name]
    if given != option.parse(sample(option))
      problems << "#{option.name}: Piston::Server.new(#{option.name}: #{sample(option)}) gives #{given.inspect}"
    end
    if option.default.nil? || option.env
      # No default value ("off", "one per core") or an environment variable's: the words only.
      problems << "#{option.name}: default #{cell.inspect}, code: #{option.shown_default.inspect}" if cell != option.shown_default
    elsif read_value(option, cell) != defaults[option.name]
      problems << "#{option.name}: default #{cell.inspect}, Piston::Server uses #{defaults[option.name].inspect}"
    end
    problems
  end

  def read_value(option, cell)
    option.parse(cell)
  rescue ArgumentError
    cell
  end

  it "in README.md agrees with the code" do
    rows = table_rows(File.read(OPTIONS_README))
    expect(rows.size).to eq(Piston::Options::ALL.size)
    expect(disagreements(rows)).to eq([])
  end

  it "as Piston::Options.markdown prints it agrees with the code" do
    expect(disagreements(table_rows(Piston::Options.markdown))).to eq([])
  end

  it "is caught disagreeing: a wrong default, flag, -O name or meaning, or a missing row" do
    readme = File.read(OPTIONS_README)
    {
      "| `max_body:` | 100m |" => "| `max_body:` | 10m |",
      "`--queue N`" => "`--queue-size N`",
      "`PipelineDepth=N`" => "`Pipeline=N`",
      "| Netty IO threads |" => "| Netty threads |"
    }.each do |right, wrong|
      expect(readme).to include(right)
      expect(disagreements(table_rows(readme.sub(right, wrong)))).not_to be_empty, "#{wrong} passed"
    end
    without_redis = readme.lines.reject { |l| l.include?("`redis:`") }.join
    expect(disagreements(table_rows(without_redis))).to include("options without a row: [:redis]")
  end

  # Java callers (the bench servers, the JUnit tests) build configs without Ruby: the Java
  # builders' own defaults must be the table's, or the two would drift apart unseen.
  it "has the defaults the Java config builders use" do
    require "piston"
    server = Java::IoPistonServer::ServerConfig.builder.build
    configs = { server: [server, server.http], upgrade: [Java::IoPistonUpgrade::UpgradeConfig.builder.build] }
    checked = Piston::Options::ALL.reject { |o| o.default.nil? || o.config.nil? }.map do |option|
      field = option.java_setter
      owner = configs.fetch(option.config).find { |c| c.respond_to?(field) } or
        raise "#{option.name}: no field #{field} in the #{option.config} config"
      value = owner.send(field)
      value = value.to_millis / 1000.0 if value.is_a?(java.time.Duration)
      expect([option.name, value]).to eq([option.name, option.default])
      option.name
    end
    expect(checked.size).to be > 15
  end

  it "names the option and the bad value when a value is wrong" do
    expect { Piston::Server.new(NO_APP, max_body: "lots") }
      .to raise_error(Piston::Options::InvalidValue, /max_body: "lots" \(a size/)
    expect { Object.new.extend(Piston::RackHandler).server_options(Queue: "many") }
      .to raise_error(Piston::Options::InvalidValue, /Queue: "many" \(a whole number\)/)
    expect { Piston::CLI.new([]).parse(%w[--ping soon]) }
      .to raise_error(Piston::Options::InvalidValue, /--ping: "soon" \(a number of seconds\)/)
    expect { Piston::Server.new(NO_APP, redis: "localhost:6379") }.to raise_error(ArgumentError, /redis: .*Redis URL/)
  end
end
