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
        token_hash -> Nullable<Binary>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        certificate_sha256 -> Nullable<Binary>,
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

diesel::table! {
    employees (organization_oid, person_oid) {
        organization_oid -> BigInt,
        person_oid -> BigInt,
        position -> Nullable<Text>,
        work_email -> Nullable<Text>,
        email_lower -> Nullable<Text>,
        phone -> Nullable<Text>,
        state -> Text,
        joined_at -> Timestamp,
        left_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    access_groups (organization_oid, mnemonic) {
        organization_oid -> BigInt,
        mnemonic -> Text,
        system -> Text,
        name -> Text,
        description -> Text,
        builtin -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    group_members (organization_oid, mnemonic, person_oid) {
        organization_oid -> BigInt,
        mnemonic -> Text,
        person_oid -> BigInt,
        added_at -> Timestamp,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        organization_oid -> BigInt,
        email -> Text,
        email_lower -> Text,
        surname -> Text,
        given_name -> Text,
        patronymic -> Nullable<Text>,
        snils -> Nullable<Text>,
        position -> Nullable<Text>,
        add_to_org_admin -> Bool,
        state -> Text,
        secret_hash -> Nullable<Binary>,
        inviter_oid -> Nullable<BigInt>,
        accepted_by -> Nullable<BigInt>,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> Text,
        kind -> Text,
        invitation_id -> Nullable<Text>,
        recipient -> Text,
        payload -> Text,
        state -> Text,
        attempts -> BigInt,
        next_attempt_at -> Timestamp,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_attempts (message_id, attempt) {
        message_id -> Text,
        attempt -> BigInt,
        worker -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        outcome -> Text,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(organizations -> persons (head_oid));
diesel::joinable!(employees -> persons (person_oid));
diesel::allow_tables_to_appear_in_same_query!(
    counters,
    persons,
    organizations,
    api_clients,
    idempotency,
    audit_heads,
    audit_events,
    employees,
    access_groups,
    group_members,
    invitations,
    mail_outbox,
    mail_attempts,
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
diesel::allow_tables_to_appear_in_same_query!(powers_of_attorney, organizations);
diesel::allow_tables_to_appear_in_same_query!(powers_of_attorney, persons);

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

diesel::table! {
    information_systems (client_id) {
        client_id -> Text,
        vendor_oid -> BigInt,
        name -> Text,
        description -> Text,
        api_key_enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::table! {
    system_grants (client_id, consumer_oid) {
        client_id -> Text,
        consumer_oid -> BigInt,
        state -> Text,
        granted_at -> Timestamp,
        withdrawn_at -> Nullable<Timestamp>,
        version -> BigInt,
    }
}

diesel::table! {
    system_members (client_id, organization_oid, person_oid) {
        client_id -> Text,
        organization_oid -> BigInt,
        person_oid -> BigInt,
        added_by -> Nullable<BigInt>,
        added_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        key_hash -> Binary,
        hash_key_id -> Text,
        prefix -> Text,
        client_id -> Text,
        organization_oid -> BigInt,
        holder_oid -> BigInt,
        issuer_oid -> BigInt,
        poa_number -> Text,
        state -> Text,
        valid_from -> Timestamp,
        valid_until -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::joinable!(system_grants -> information_systems (client_id));
diesel::joinable!(api_keys -> information_systems (client_id));
diesel::joinable!(system_grants -> organizations (consumer_oid));
diesel::allow_tables_to_appear_in_same_query!(
    information_systems,
    system_grants,
    organizations,
    api_keys
);

diesel::table! {
    organization_registrations (organization_oid) {
        organization_oid -> BigInt,
        statement -> Binary,
        signature -> Binary,
        signer_certificate -> Binary,
        signing_time -> Nullable<Timestamp>,
        registered_at -> Timestamp,
    }
}

diesel::table! {
    token_issuances (sid) {
        sid -> Text,
        key_id -> Text,
        client_id -> Text,
        organization_oid -> BigInt,
        holder_oid -> BigInt,
        issued_at -> Timestamp,
        expires_at -> Timestamp,
        client_addr -> Text,
        signer_serial -> Text,
        signer_thumbprint -> Text,
        signer_kind -> Text,
        signing_time -> Timestamp,
    }
}

diesel::table! {
    token_refusals (id) {
        id -> Text,
        occurred_at -> Timestamp,
        key_id -> Nullable<Text>,
        organization_oid -> Nullable<BigInt>,
        esia_code -> Text,
        reason -> Text,
        detail -> Text,
        client_addr -> Text,
        signer_serial -> Nullable<Text>,
    }
}

// The API-KEY validity check reads these together (`storage::api_keys::facts`).
diesel::allow_tables_to_appear_in_same_query!(employees, system_members);
diesel::allow_tables_to_appear_in_same_query!(employees, api_keys);
diesel::allow_tables_to_appear_in_same_query!(employees, information_systems);
diesel::allow_tables_to_appear_in_same_query!(employees, system_grants);
diesel::allow_tables_to_appear_in_same_query!(system_members, api_keys);
diesel::allow_tables_to_appear_in_same_query!(system_members, information_systems);
diesel::allow_tables_to_appear_in_same_query!(system_members, system_grants);
diesel::allow_tables_to_appear_in_same_query!(persons, api_keys);
diesel::allow_tables_to_appear_in_same_query!(persons, information_systems);
diesel::allow_tables_to_appear_in_same_query!(persons, system_grants);
diesel::allow_tables_to_appear_in_same_query!(persons, system_members);
diesel::allow_tables_to_appear_in_same_query!(organizations, system_members);

diesel::table! {
    audit_checkpoints (chain, seq) {
        chain -> BigInt,
        seq -> BigInt,
        hash -> Binary,
        signed_at -> Timestamp,
        cert_fingerprint -> Binary,
        signature -> Binary,
    }
}
