//! The whole root Terraform module, really applied to moto with the offline provider mirror (set
//! TERRAFORM_PLUGIN_DIR when offline): the resources exist as configured, a second plan is empty, the shared
//! secret never reaches the state, and destroy succeeds.

use e2e::*;
use std::time::{Duration, Instant};
use xtask::terraform::{self, Terraform};

#[tokio::test(flavor = "multi_thread")]
async fn root_module_applies_replans_clean_keeps_the_secret_out_of_state_and_destroys() {
    let dir = scratch_dir("terraform");
    let moto = start_moto(&dir);
    let sdk = sdk(&moto).await;
    let root = dir.join("terraform");
    terraform::stage_with_local_backend(&root, &dir.join("terraform.tfstate")).unwrap();
    xtask::local_stack::write_lambda_packages(provisioner_bin().parent().unwrap(), &dir).unwrap();
    let mut tf = Terraform::new(
        root,
        &xtask::aws::emulator_env(&moto.endpoint_url(), REGION),
        Some(dir.join("terraform.log")),
    )
    .unwrap();
    // A moto gap makes the provider retry for ~10 minutes instead of failing: bound every call.
    tf.timeout = Duration::from_secs(300);
    // The local environment's variables, exactly as `cargo xtask local up` passes them.
    let vars = xtask::local_stack::terraform_var_args(&dir).unwrap();
    let with_vars = |args: &[&'static str]| -> Vec<String> {
        args.iter()
            .map(|s| s.to_string())
            .chain(vars.iter().cloned())
            .collect()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        tf.run(&args).unwrap_or_else(|e| panic!("{e:#}"))
    };

    tf.run(&["init", "-input=false", "-no-color"]).unwrap();
    let t = Instant::now();
    run(with_vars(&[
        "apply",
        "-input=false",
        "-no-color",
        "-auto-approve",
    ]));
    eprintln!("apply took {:.1}s", t.elapsed().as_secs_f64());
    let outputs = tf.outputs().unwrap();
    let out = |name: &str| Terraform::output(&outputs, name).unwrap();

    // The cluster is ACTIVE.
    let clusters = aws_sdk_ecs::Client::new(&sdk)
        .describe_clusters()
        .clusters(out("cluster_arn"))
        .send()
        .await
        .unwrap();
    assert_eq!(clusters.clusters()[0].status(), Some("ACTIVE"));

    // The repository has immutable tags and scans on push.
    let repo_url = out("ecr_repository_url");
    let repo_name = repo_url.rsplit('/').next().unwrap();
    let repos = aws_sdk_ecr::Client::new(&sdk)
        .describe_repositories()
        .repository_names(repo_name)
        .send()
        .await
        .unwrap();
    let repo = &repos.repositories()[0];
    assert_eq!(
        repo.image_tag_mutability().map(|m| m.as_str()),
        Some("IMMUTABLE")
    );
    assert_eq!(
        repo.image_scanning_configuration()
            .map(|c| c.scan_on_push()),
        Some(true)
    );

    // The Lambda has the environment the provisioner reads.
    let function = aws_sdk_lambda::Client::new(&sdk)
        .get_function_configuration()
        .function_name(out("lambda_function_name"))
        .send()
        .await
        .unwrap();
    let vars = function.environment().unwrap().variables().unwrap();
    assert_eq!(vars["PROVISIONER_SECRET_ID"], out("secret_arn"));
    assert_eq!(
        vars["PROVISIONER_CLUSTER_CONFIG_PARAMETER"],
        out("cluster_config_parameter_name")
    );
    assert!(
        vars["PROVISIONER_WORKER_IMAGE"].starts_with(&repo_url),
        "{}",
        vars["PROVISIONER_WORKER_IMAGE"]
    );
    assert_eq!(
        function.runtime().map(|r| r.as_str()),
        Some("provided.al2023")
    );
    assert_eq!(function.handler(), Some("bootstrap"));
    // The SSM parameter parses as the provisioner's cluster configuration.
    let parameter = aws_sdk_ssm::Client::new(&sdk)
        .get_parameter()
        .name(out("cluster_config_parameter_name"))
        .send()
        .await
        .unwrap();
    let config =
        provisioner::config::ClusterConfig::parse(parameter.parameter().unwrap().value().unwrap())
            .unwrap();
    assert_eq!(config.cluster_arn, out("cluster_arn"));

    // The HTTP API routes POST /worker-request to the Lambda (proxy, payload 2.0).
    let api = aws_sdk_apigatewayv2::Client::new(&sdk);
    let api_id = api
        .get_apis()
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .find(|a| out("worker_request_url").contains(a.api_id().unwrap()))
        .expect("the API behind worker_request_url")
        .api_id()
        .unwrap()
        .to_string();
    let routes = api.get_routes().api_id(&api_id).send().await.unwrap();
    let route = routes
        .items()
        .iter()
        .find(|r| r.route_key() == Some("POST /worker-request"))
        .expect("route");
    let integration_id = route.target().unwrap().trim_start_matches("integrations/");
    let integration = api
        .get_integration()
        .api_id(&api_id)
        .integration_id(integration_id)
        .send()
        .await
        .unwrap();
    assert_eq!(integration.payload_format_version(), Some("2.0"));
    assert!(
        integration
            .integration_uri()
            .unwrap()
            .contains(&out("lambda_function_name"))
    );

    // The EventBridge function: the same configuration, plus where rejected events go; plain-text link
    // tokens refused.
    let events_function = aws_sdk_lambda::Client::new(&sdk)
        .get_function_configuration()
        .function_name(out("events_lambda_function_name"))
        .send()
        .await
        .unwrap();
    let events_vars = events_function.environment().unwrap().variables().unwrap();
    for (name, value) in vars {
        assert_eq!(events_vars.get(name), Some(value), "{name}");
    }
    assert_eq!(
        events_vars["PROVISIONER_DEAD_LETTER_QUEUE_URL"],
        out("dlq_url")
    );
    assert_eq!(
        events_vars["PROVISIONER_ALLOW_PLAINTEXT_LINK_TOKENS"],
        "false"
    );
    assert_ne!(
        events_function.role(),
        function.role(),
        "each function has its own role"
    );

    // The EventBridge rule targets the events function, with a dead-letter queue.
    let events = aws_sdk_eventbridge::Client::new(&sdk);
    let bus = out("event_bus_arn");
    let rules = events
        .list_rules()
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap();
    let rule = rules.rules().first().expect("a rule on the bus");
    assert!(
        rule.event_pattern()
            .unwrap()
            .contains("On-Demand Worker Request")
    );
    let targets = events
        .list_targets_by_rule()
        .rule(rule.name().unwrap())
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap();
    let target = &targets.targets()[0];
    assert_eq!(Some(target.arn()), events_function.function_arn());
    assert!(target.dead_letter_config().and_then(|d| d.arn()).is_some());

    // The secret is written by our tool, after the apply: it must never be in the state, and must not make
    // the next plan dirty.
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    xtask::secret::init(&secrets, &out("secret_arn"))
        .await
        .unwrap();
    let secret = xtask::secret::read(&secrets, &out("secret_arn"))
        .await
        .unwrap()
        .unwrap();
    let t = Instant::now();
    let plan = tf
        .run_raw(
            &with_vars(&["plan", "-input=false", "-no-color", "-detailed-exitcode"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .unwrap();
    eprintln!("second plan took {:.1}s", t.elapsed().as_secs_f64());
    assert_eq!(
        plan.code(),
        Some(0),
        "second plan is not empty:\n{}{}",
        plan.stdout,
        plan.stderr
    );
    // A change to one resource plans as that change alone: no policy that merely names it turns into
    // "known after apply" (a plan preview that cries wolf on IAM every time gets skimmed).
    let retention_plan = dir.join("retention.plan");
    let mut args = with_vars(&["plan", "-input=false", "-no-color"]);
    args.push("-var=log_retention_days=3".into());
    args.push(format!("-out={}", retention_plan.display()));
    run(args);
    let shown = tf
        .run(&["show", "-json", &retention_plan.display().to_string()])
        .unwrap();
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    let changed: Vec<(&str, &str)> = shown["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["change"]["actions"] != serde_json::json!(["no-op"]))
        .map(|c| (c["address"].as_str().unwrap(), c["type"].as_str().unwrap()))
        .collect();
    assert!(!changed.is_empty(), "a new retention changed nothing");
    assert!(
        changed
            .iter()
            .all(|(_, kind)| *kind == "aws_cloudwatch_log_group"),
        "a new log retention should change log groups only, got {changed:?}"
    );

    let state = tf.run(&["state", "pull"]).unwrap();
    assert!(
        state.contains(&out("secret_arn")),
        "the state should hold the secret's container"
    );
    assert!(
        !state.contains(secret.current()),
        "the shared secret's value is in the Terraform state"
    );

    let t = Instant::now();
    run(with_vars(&[
        "destroy",
        "-input=false",
        "-no-color",
        "-auto-approve",
    ]));
    eprintln!("destroy took {:.1}s", t.elapsed().as_secs_f64());
    let left = aws_sdk_ecs::Client::new(&sdk)
        .list_clusters()
        .send()
        .await
        .unwrap();
    assert!(
        left.cluster_arns().iter().all(|a| a != &out("cluster_arn")) || {
            let c = aws_sdk_ecs::Client::new(&sdk)
                .describe_clusters()
                .clusters(out("cluster_arn"))
                .send()
                .await
                .unwrap();
            c.clusters().first().and_then(|c| c.status()) == Some("INACTIVE")
        }
    );
}
