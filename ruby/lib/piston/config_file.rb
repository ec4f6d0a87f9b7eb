# frozen_string_literal: true

require "jruby"

module Piston
  # Runs a config.ru inside `Builder.new { ... }`, as Rack::Builder does, but parsed as a script
  # rather than handed to eval: JRuby never compiles the blocks of eval'd code, so an app written
  # as `run ->(env) { ... }` would run in JRuby's interpreter for as long as the server runs.
  module ConfigFile
    UTF_8_BOM = "\uFEFF"

    # The builder `builder_class.new { <the file> }` made, ready for `to_app`.
    def self.evaluate(path, builder_class)
      source = File.read(path)
      source.delete_prefix!(UTF_8_BOM)
      source.sub!(/^__END__\n.*\z/m, "")
      script, first_line = wrap(source, "::#{builder_class.name}.new { ")
      runtime = JRuby.runtime
      parsed = runtime.parse_file(path, java.io.ByteArrayInputStream.new(script.to_java_bytes), nil, first_line)
      runtime.run_interpreter(runtime.current_context, parsed, runtime.top_self)
    end

    # The script, and the number the parser gives its first line minus one. The opening goes on
    # the line of the first code, after the leading comments (a magic comment such as
    # frozen_string_literal only counts before any code), so every line keeps its number.
    def self.wrap(source, opening)
      lines = source.lines
      code = lines.index { |line| !line.strip.empty? && !line.lstrip.start_with?("#") }
      # Nothing to put it in front of, or =begin, which must start its line: the opening takes a
      # line of its own, numbered 0.
      return ["#{opening}\n#{source}\n}", -1] if code.nil? || lines[code].start_with?("=begin")

      lines[code] = opening + lines[code]
      ["#{lines.join}\n}", 0]
    end
  end
end
