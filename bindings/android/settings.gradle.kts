// Standalone build of the AAR: `gradle assembleRelease` in bindings/android after
// scripts/build-android.sh has built the native libraries.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "citycode"
