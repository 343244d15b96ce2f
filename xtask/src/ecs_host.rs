//! What an EC2 host does when it joins the cluster, done by hand against the emulator: an instance exists and
//! the ECS agent registers it as a container instance. Without one, RunTask has nowhere to place a task.

use anyhow::{Context, Result};
use aws_config::SdkConfig;
use aws_sdk_ecs::types::Resource;

pub struct Host {
    pub instance_id: String,
    pub container_instance_arn: String,
}

/// Launches one instance and registers it in `cluster` with 2 vCPU / 3.75 GiB, like a t3.medium. (The
/// emulator ignores the figures and gives every container instance 4096 CPU units and 7482 MiB.)
pub async fn register_host(sdk: &SdkConfig, cluster: &str) -> Result<Host> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let image = ec2
        .describe_images()
        .owners("amazon")
        .send()
        .await
        .map_err(crate::aws::err("listing AMIs"))?
        .images()
        .iter()
        .find_map(|i| i.image_id().map(str::to_owned))
        .context("the emulator has no AMI to launch")?;
    let instance_id = ec2
        .run_instances()
        .image_id(image)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Medium)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .map_err(crate::aws::err("launching the host instance"))?
        .instances()
        .first()
        .and_then(|i| i.instance_id().map(str::to_owned))
        .context("RunInstances returned no instance")?;
    let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
    let identity = serde_json::json!({"instanceId": instance_id, "region": region}).to_string();
    let resource = |name: &str, value: i32| {
        Resource::builder()
            .name(name)
            .r#type("INTEGER")
            .integer_value(value)
            .build()
    };
    let container_instance_arn = aws_sdk_ecs::Client::new(sdk)
        .register_container_instance()
        .cluster(cluster)
        .instance_identity_document(identity)
        .total_resources(resource("CPU", 2048))
        .total_resources(resource("MEMORY", 3840))
        .send()
        .await
        .map_err(crate::aws::err("registering the container instance"))?
        .container_instance()
        .and_then(|c| c.container_instance_arn().map(str::to_owned))
        .context("RegisterContainerInstance returned no ARN")?;
    Ok(Host {
        instance_id,
        container_instance_arn,
    })
}
