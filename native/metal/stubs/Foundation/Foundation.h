// Declaration stubs of the Foundation and Objective-C runtime API smelt_metal.mm uses, so that
// clang can type-check the addon on Linux (`-x objective-c++ -fsyntax-only`). NOT for building:
// macOS builds use Apple's SDK. Every declaration is copied from Apple's headers (macOS SDK), the
// header named above each group; the macros at the top stand in for Apple's definitions with
// the same meaning for a type check (availability and Swift annotations expand to nothing).
// Only what the addon uses is declared, so a call to anything else fails here as it should.
#ifndef SMELT_STUB_FOUNDATION_H
#define SMELT_STUB_FOUNDATION_H

#include <stdint.h>

// ---- <sys/cdefs.h> (Apple's; glibc's __nonnull is another macro, and these stubs need only this)
#define __nullable _Nullable

// ---- <objc/objc.h> (arm64: OBJC_BOOL_IS_BOOL), <objc/NSObjCRuntime.h> (__LP64__)
typedef bool BOOL;
#define YES __objc_yes
#define NO __objc_no
#ifndef nil
#define nil nullptr
#endif
typedef long NSInteger;
typedef unsigned long NSUInteger;

// ---- <os/availability.h>, <Foundation/NSObjCRuntime.h>, <CoreFoundation/CFAvailability.h>
#define API_AVAILABLE(...)
#define API_UNAVAILABLE(...)
#define API_DEPRECATED(...)
#define API_DEPRECATED_WITH_REPLACEMENT(...)
#define NS_SWIFT_SENDABLE
#define NS_SWIFT_UNAVAILABLE_FROM_ASYNC(msg)
#define NS_RETURNS_RETAINED __attribute__((ns_returns_retained))
#define NS_RETURNS_INNER_POINTER __attribute__((objc_returns_inner_pointer))
#define NS_ASSUME_NONNULL_BEGIN _Pragma("clang assume_nonnull begin")
#define NS_ASSUME_NONNULL_END _Pragma("clang assume_nonnull end")
// C++ spellings of CF_ENUM / CF_OPTIONS: a fixed underlying type; options are plain integers.
#define NS_ENUM(_type, _name) enum _name : _type _name; enum _name : _type
#define NS_OPTIONS(_type, _name) _type _name; enum : _type

NS_ASSUME_NONNULL_BEGIN

// ---- <objc/NSObject.h>
@protocol NSObject
- (BOOL)isEqual:(id)object;
@end

__attribute__((objc_root_class))
@interface NSObject <NSObject>
+ (instancetype)new;
+ (instancetype)alloc;
- (instancetype)init;
@end

// ---- <Foundation/NSString.h>
typedef NSUInteger NSStringEncoding;
enum {
    NSUTF8StringEncoding = 4,
};

@interface NSString : NSObject
@property (nullable, readonly) const char *UTF8String NS_RETURNS_INNER_POINTER;	// Convenience to return null-terminated UTF8 representation
- (nullable instancetype)initWithBytes:(const void *)bytes length:(NSUInteger)len encoding:(NSStringEncoding)encoding;
+ (nullable instancetype)stringWithUTF8String:(const char *)nullTerminatedCString;
@end

// ---- <Foundation/NSError.h>
typedef NSString *NSErrorDomain;

@interface NSError : NSObject
@property (readonly, copy) NSString *localizedDescription;
@end

NS_ASSUME_NONNULL_END

#endif
