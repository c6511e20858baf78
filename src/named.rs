//! `named_enum!`: an enumerated setting whose values have names in the configuration file
//! (`hybrid`, `daily`, …). It writes the enum with `as_str`, `ALL` and `Display`; the module that
//! owns the setting declares it (the worker its threading model, telemetry its log level), and
//! the configuration parser reads it by those names (`config/choices.rs`).

/// Declares a settings enum whose variants are written as `Variant = "name"`.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The value's name, as written in the configuration file.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
