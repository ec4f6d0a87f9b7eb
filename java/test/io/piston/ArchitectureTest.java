package io.piston;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The package plan, checked on the compiled classes (docs/architecture.md draws it): packages by
 * role with no cycles between them, dependencies pointing one way only (server on top; ruby →
 * rack → upgrade → pubsub; http and log at the bottom), the JRuby boundary in rack and ruby alone,
 * and Lettuce (with Reactor) in pubsub.redis alone.
 */
class ArchitectureTest {
    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages("io.piston");

    @Test
    void packagesAreFreeOfCycles() {
        slices().matching("io.piston.(*)..").should().beFreeOfCycles().check(CLASSES);
    }

    @Test
    void onlyRackAndRubyTouchJRuby() {
        noClasses().that().resideOutsideOfPackages("io.piston.rack..", "io.piston.ruby..")
                .should().dependOnClassesThat().resideInAnyPackage("org.jruby..", "org.jcodings..")
                .check(CLASSES);
    }

    @Test
    void onlyTheRedisEngineTouchesLettuceAndReactor() {
        noClasses().that().resideOutsideOfPackage("io.piston.pubsub.redis..")
                .should().dependOnClassesThat().resideInAnyPackage("io.lettuce..", "reactor..")
                .check(CLASSES);
    }

    @Test
    void logDependsOnNoOtherPackage() {
        mayNotUse("io.piston.log..", "io.piston.http..", "io.piston.pubsub..", "io.piston.upgrade..",
                "io.piston.rack..", "io.piston.ruby..", "io.piston.server..");
    }

    @Test
    void httpKnowsNothingAboveIt() {
        mayNotUse("io.piston.http..", "io.piston.pubsub..", "io.piston.upgrade..", "io.piston.rack..",
                "io.piston.ruby..", "io.piston.server..");
    }

    @Test
    void pubsubKnowsNeitherHttpNorTheProtocols() {
        mayNotUse("io.piston.pubsub..", "io.piston.http..", "io.piston.upgrade..", "io.piston.rack..",
                "io.piston.ruby..", "io.piston.server..");
    }

    @Test
    void upgradeKnowsNothingOfRackRubyOrTheServer() {
        mayNotUse("io.piston.upgrade..", "io.piston.rack..", "io.piston.ruby..", "io.piston.server..");
    }

    @Test
    void rackKnowsNeitherTheRubyClassesNorTheServer() {
        mayNotUse("io.piston.rack..", "io.piston.ruby..", "io.piston.server..");
    }

    @Test
    void rubyDoesNotReachUpToTheServer() {
        mayNotUse("io.piston.ruby..", "io.piston.server..");
    }

    private static void mayNotUse(String from, String... forbidden) {
        noClasses().that().resideInAPackage(from).should().dependOnClassesThat().resideInAnyPackage(forbidden)
                .check(CLASSES);
    }
}
