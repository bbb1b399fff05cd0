// swift-tools-version:5.9
// The citycode Swift package: the generated Swift bindings over an XCFramework of the
// static library for iOS devices, the iOS simulator and macOS.
//
// scripts/build-xcframework.sh builds target/ios/citycode_ffiFFI.xcframework (it needs
// Xcode); a release replaces the path with the published archive:
//   .binaryTarget(name: "citycode_ffiFFI", url: "https://…/citycode_ffiFFI.xcframework.zip",
//                 checksum: "<swift package compute-checksum>")
// Untested here: no Apple toolchain can be had on the build machines, so neither this
// manifest nor the framework has been built; scripts/check-swift.py checks the binding
// against the library's symbols and checksums instead.
import PackageDescription

let package = Package(
    name: "Citycode",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [.library(name: "Citycode", targets: ["Citycode"])],
    targets: [
        .binaryTarget(name: "citycode_ffiFFI", path: "target/ios/citycode_ffiFFI.xcframework"),
        .target(
            name: "Citycode",
            dependencies: ["citycode_ffiFFI"],
            path: "bindings/generated/swift",
            exclude: ["citycode_ffiFFI.h", "citycode_ffiFFI.modulemap"],
            sources: ["citycode_ffi.swift"]
        ),
    ]
)
