// The citycode Android library (AAR): the generated Kotlin bindings, the native library
// for each ABI (scripts/build-android.sh puts them in src/main/jniLibs), JNA as an AAR
// (it carries its own native dispatch library per ABI), and consumer ProGuard rules so
// an app's R8 keeps what JNA reaches by reflection.
//
// Use it as a Gradle module (settings.gradle.kts: include(":citycode"),
// project(":citycode").projectDir = file("<repo>/bindings/android")), or publish the AAR
// with `gradle :citycode:publishToMavenLocal`. Not built here: no Android SDK or NDK on the
// build machines (README.md, "Kotlin (Android)").
plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.0"
    `maven-publish`
}

android {
    namespace = "org.citycode"
    compileSdk = 35
    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].kotlin.srcDir("../generated/kotlin")
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    publishing { singleVariant("release") { withSourcesJar() } }
}

dependencies {
    // The @aar form: JNA's Android build with libjnidispatch.so for every ABI.
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    // Async signers (AsyncDeviceSigner's suspend fun) and AsyncHolder.
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
}

publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = "org.citycode"
            artifactId = "citycode"
            version = "0.1.0"
            afterEvaluate { from(components["release"]) }
        }
    }
}
