//! Diesel table definitions in the types both backends share (DESIGN.md §4: TEXT ids, naive
//! UTC timestamps, BLOB/BYTEA hashes, JSON as TEXT).

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::table! {
    persons (oid) {
        oid -> BigInt,
        surname -> Text,
        given_name -> Text,
        patronymic -> Nullable<Text>,
        snils -> Nullable<Text>,
        inn -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        level -> Text,
        birth_date -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    organizations (oid) {
        oid -> BigInt,
        kind -> Text,
        full_name -> Text,
        short_name -> Text,
        ogrn -> Text,
        inn -> Text,
        kpp -> Nullable<Text>,
        address -> Text,
        head_oid -> BigInt,
        is_consumer -> Bool,
        is_vendor -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Text,
        name -> Text,
        role -> Text,
        organization_oid -> Nullable<BigInt>,
        token_hash -> Binary,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency (client_id, operation, request_id) {
        client_id -> Text,
        operation -> Text,
        request_id -> Text,
        fingerprint -> Binary,
        result_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_heads (chain) {
        chain -> BigInt,
        seq -> BigInt,
        hash -> Binary,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (chain, seq) {
        chain -> BigInt,
        seq -> BigInt,
        occurred_at -> Timestamp,
        actor_client -> Text,
        actor_person -> Nullable<BigInt>,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        request_id -> Text,
        details -> Text,
        prev_hash -> Binary,
        hash -> Binary,
    }
}

diesel::joinable!(organizations -> persons (head_oid));
diesel::allow_tables_to_appear_in_same_query!(
    counters,
    persons,
    organizations,
    api_clients,
    idempotency,
    audit_heads,
    audit_events,
);

diesel::table! {
    powers (code) {
        code -> Text,
        name -> Text,
        description -> Text,
        context_kind -> Text,
        source -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    powers_of_attorney (number) {
        number -> Text,
        organization_oid -> BigInt,
        state -> Text,
        origin -> Text,
        internal_number -> Text,
        principal_person_oid -> BigInt,
        representative_person_oid -> Nullable<BigInt>,
        start_date -> Date,
        end_date -> Date,
        redelegation -> Text,
        revocable -> Bool,
        document -> Binary,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    poa_powers (number, position) {
        number -> Text,
        position -> Integer,
        power_code -> Text,
        information_system -> Text,
    }
}

diesel::joinable!(poa_powers -> powers_of_attorney (number));
diesel::allow_tables_to_appear_in_same_query!(powers_of_attorney, poa_powers);

diesel::table! {
    poa_signatures (number) {
        number -> Text,
        signature -> Binary,
        signer_certificate -> Binary,
        signing_time -> Nullable<Timestamp>,
        signed_at -> Timestamp,
    }
}

diesel::table! {
    poa_revocations (number) {
        number -> Text,
        document -> Binary,
        signature -> Binary,
        revoked_at -> Timestamp,
    }
}
