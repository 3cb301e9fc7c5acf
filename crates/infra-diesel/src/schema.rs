//! The Diesel schema, written with types both backends share, so one set of queries
//! serves PostgreSQL and SQLite.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        username_key -> Text,
        email -> Nullable<Text>,
        password_hash -> Text,
        is_staff -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    movies (id) {
        id -> BigInt,
        title -> Text,
        description -> Text,
        duration_minutes -> Integer,
    }
}

diesel::table! {
    screens (id) {
        id -> BigInt,
        name -> Text,
        capacity -> Integer,
        blocked_seats -> Integer,
        layout -> Text,
    }
}

diesel::table! {
    shows (id) {
        id -> BigInt,
        movie_id -> BigInt,
        screen_name -> Text,
        start_time -> Timestamp,
        total_seats -> Integer,
        screen_id -> Nullable<BigInt>,
        currency -> Text,
    }
}

diesel::table! {
    show_prices (show_id, category) {
        show_id -> BigInt,
        category -> Text,
        price -> Integer,
    }
}

diesel::table! {
    bookings (id) {
        id -> BigInt,
        user_id -> BigInt,
        show_id -> BigInt,
        seat_number -> Integer,
        status -> Text,
        booking_time -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
        price -> Integer,
        currency -> Text,
        seat_label -> Text,
    }
}

diesel::table! {
    refresh_tokens (jti) {
        jti -> Text,
        family -> Text,
        user_id -> BigInt,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        retired_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (scope_hash) {
        scope_hash -> Binary,
        user_id -> BigInt,
        method -> Text,
        path -> Text,
        idem_key -> Text,
        fingerprint -> Binary,
        claim_token -> Text,
        created_at -> Timestamp,
        status -> Nullable<Integer>,
        content_type -> Nullable<Text>,
        body -> Nullable<Binary>,
    }
}

diesel::table! {
    holds (id) {
        id -> BigInt,
        user_id -> BigInt,
        show_id -> BigInt,
        status -> Text,
        seat_count -> Integer,
        seats -> Text,
        currency -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        extensions -> Integer,
    }
}

diesel::table! {
    seat_claims (show_id, seat_number) {
        show_id -> BigInt,
        seat_number -> Integer,
        hold_id -> Nullable<BigInt>,
        expires_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(shows -> movies (movie_id));
diesel::joinable!(shows -> screens (screen_id));
diesel::joinable!(show_prices -> shows (show_id));
diesel::joinable!(bookings -> shows (show_id));
diesel::joinable!(bookings -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(holds -> users (user_id));
diesel::joinable!(holds -> shows (show_id));
diesel::joinable!(seat_claims -> shows (show_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    movies,
    screens,
    shows,
    show_prices,
    bookings,
    refresh_tokens,
    holds,
    seat_claims
);
