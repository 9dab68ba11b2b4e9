//! Known AWS IAM privilege-escalation combinations (Rhino Security Labs' catalogue, as also
//! used by Cloudsplaining and Pacu, plus the paths pathfinding.cloud documents since): an identity holding every action of one combination can
//! raise its own privileges. Each is reported with the statements that grant its actions.

/// One privilege-escalation path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrivescPath {
    pub name: &'static str,
    /// Every action is needed; matched against the sensitive-action catalogue.
    pub actions: &'static [&'static str],
    pub description: &'static str,
}

const fn path(
    name: &'static str,
    actions: &'static [&'static str],
    description: &'static str,
) -> PrivescPath {
    PrivescPath {
        name,
        actions,
        description,
    }
}

/// The catalogue, in a stable order.
pub const PATHS: &[PrivescPath] = &[
    path(
        "CreateNewPolicyVersion",
        &["iam:CreatePolicyVersion"],
        "create a new default version of a policy attached to itself, granting *:*",
    ),
    path(
        "SetExistingDefaultPolicyVersion",
        &["iam:SetDefaultPolicyVersion"],
        "make an older, more permissive version of an attached policy the default",
    ),
    path(
        "CreateAccessKey",
        &["iam:CreateAccessKey"],
        "create access keys for another (more privileged) user",
    ),
    path(
        "CreateLoginProfile",
        &["iam:CreateLoginProfile"],
        "set a console password on another user that has none",
    ),
    path(
        "UpdateLoginProfile",
        &["iam:UpdateLoginProfile"],
        "reset the console password of another user",
    ),
    path(
        "AttachUserPolicy",
        &["iam:AttachUserPolicy"],
        "attach AdministratorAccess to a user it controls (itself)",
    ),
    path(
        "AttachGroupPolicy",
        &["iam:AttachGroupPolicy"],
        "attach AdministratorAccess to a group it belongs to",
    ),
    path(
        "AttachRolePolicy",
        &["iam:AttachRolePolicy", "sts:AssumeRole"],
        "attach AdministratorAccess to a role it can assume",
    ),
    path(
        "PutUserPolicy",
        &["iam:PutUserPolicy"],
        "write an inline *:* policy on a user it controls (itself)",
    ),
    path(
        "PutGroupPolicy",
        &["iam:PutGroupPolicy"],
        "write an inline *:* policy on a group it belongs to",
    ),
    path(
        "PutRolePolicy",
        &["iam:PutRolePolicy", "sts:AssumeRole"],
        "write an inline *:* policy on a role it can assume",
    ),
    path(
        "AddUserToGroup",
        &["iam:AddUserToGroup"],
        "add itself to a privileged group",
    ),
    path(
        "UpdateRolePolicyToAssumeIt",
        &["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"],
        "rewrite a privileged role's trust policy to admit itself, then assume it",
    ),
    path(
        "DeletePermissionsBoundary",
        &["iam:DeleteUserPermissionsBoundary"],
        "remove the permissions boundary that limits a user",
    ),
    path(
        "DeleteRolePermissionsBoundary",
        &["iam:DeleteRolePermissionsBoundary"],
        "remove the permissions boundary that limits a role",
    ),
    path(
        "PassExistingRoleToNewEC2",
        &["iam:PassRole", "ec2:RunInstances"],
        "launch an instance with a privileged instance profile and use its credentials",
    ),
    path(
        "PassExistingRoleToNewLambdaThenInvoke",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
        ],
        "create a Lambda function running as a privileged role and invoke it",
    ),
    path(
        "PassExistingRoleToNewLambdaThenTrigger",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:CreateEventSourceMapping",
        ],
        "create a Lambda function running as a privileged role, triggered by an event source",
    ),
    path(
        "EditExistingLambdaFunctionWithRole",
        &["lambda:UpdateFunctionCode"],
        "replace the code of a function that runs as a privileged role",
    ),
    path(
        "PassExistingRoleToNewGlueDevEndpoint",
        &["iam:PassRole", "glue:CreateDevEndpoint"],
        "create a Glue development endpoint with a privileged role and SSH into it",
    ),
    path(
        "UpdateExistingGlueDevEndpoint",
        &["glue:UpdateDevEndpoint"],
        "add an SSH key to an existing Glue endpoint running with a privileged role",
    ),
    path(
        "PassExistingRoleToCloudFormation",
        &["iam:PassRole", "cloudformation:CreateStack"],
        "create a CloudFormation stack that runs as a privileged role",
    ),
    path(
        "PassExistingRoleToNewDataPipeline",
        &[
            "iam:PassRole",
            "datapipeline:CreatePipeline",
            "datapipeline:PutPipelineDefinition",
        ],
        "create a Data Pipeline that runs commands as a privileged role",
    ),
    path(
        "PassExistingRoleToNewSageMakerNotebook",
        &[
            "iam:PassRole",
            "sagemaker:CreateNotebookInstance",
            "sagemaker:CreatePresignedNotebookInstanceUrl",
        ],
        "create a SageMaker notebook with a privileged role and open it",
    ),
    path(
        "PassExistingRoleToNewCodeBuildProject",
        &[
            "iam:PassRole",
            "codebuild:CreateProject",
            "codebuild:StartBuild",
        ],
        "create a CodeBuild project running as a privileged role and start a build",
    ),
    path(
        "PassExistingRoleToNewEcsTask",
        &["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:RunTask"],
        "register an ECS task definition with a privileged task role and run it",
    ),
    path(
        "SsmSendCommandToInstances",
        &["ssm:SendCommand"],
        "run commands on instances and take their instance-profile credentials",
    ),
    // Paths catalogued by pathfinding.cloud (Datadog) and Cloudsplaining 0.8 beyond the Rhino
    // set; read-only discovery actions (ec2:DescribeInstances, ecs:DescribeTasks) are left out
    // of the combinations since nearly every identity has them. Paths that only add an action
    // to a single-action path above (e.g. lambda:UpdateFunctionCode + lambda:InvokeFunction)
    // are covered by that path.
    path(
        "ExecuteCloudFormationChangeSet",
        &[
            "cloudformation:CreateChangeSet",
            "cloudformation:ExecuteChangeSet",
        ],
        "change an existing stack whose service role is privileged",
    ),
    path(
        "ModifyEC2InstanceUserDataThenRestart",
        &[
            "ec2:ModifyInstanceAttribute",
            "ec2:StopInstances",
            "ec2:StartInstances",
        ],
        "replace an instance's user data and restart it to run code as its instance profile",
    ),
    path(
        "ModifyExistingEC2LaunchTemplate",
        &[
            "ec2:CreateLaunchTemplateVersion",
            "ec2:ModifyLaunchTemplate",
        ],
        "make a launch template with a privileged instance profile run its code",
    ),
    path(
        "EC2InstanceConnectSendSSHPublicKey",
        &["ec2-instance-connect:SendSSHPublicKey"],
        "push an SSH key to an instance and use its instance-profile credentials",
    ),
    path(
        "ECSExecuteCommandOnRunningTask",
        &["ecs:ExecuteCommand"],
        "open a shell in a running task and use its task-role credentials",
    ),
    path(
        "CreatePresignedSageMakerNotebookUrl",
        &["sagemaker:CreatePresignedNotebookInstanceUrl"],
        "open an existing notebook instance that runs with a privileged role",
    ),
    path(
        "UpdateSageMakerNotebookLifecycleConfig",
        &[
            "sagemaker:CreateNotebookInstanceLifecycleConfig",
            "sagemaker:StopNotebookInstance",
            "sagemaker:UpdateNotebookInstance",
            "sagemaker:StartNotebookInstance",
        ],
        "attach a lifecycle script to a notebook instance with a privileged role and restart it",
    ),
    path(
        "AccessExistingBedrockCodeInterpreterSession",
        &[
            "bedrock-agentcore:StartCodeInterpreterSession",
            "bedrock-agentcore:InvokeCodeInterpreter",
        ],
        "run code in an existing Bedrock AgentCore code interpreter with a privileged role",
    ),
    path(
        "PassExistingRoleToNewBedrockCodeInterpreter",
        &[
            "iam:PassRole",
            "bedrock-agentcore:CreateCodeInterpreter",
            "bedrock-agentcore:StartCodeInterpreterSession",
            "bedrock-agentcore:InvokeCodeInterpreter",
        ],
        "create a Bedrock AgentCore code interpreter with a privileged role and run code in it",
    ),
    path(
        "PassExistingRoleToNewAppRunnerService",
        &["iam:PassRole", "apprunner:CreateService"],
        "create an App Runner service whose instance role is privileged",
    ),
    path(
        "PassExistingRoleToNewCloudFormationStackSet",
        &[
            "iam:PassRole",
            "cloudformation:CreateStackSet",
            "cloudformation:CreateStackInstances",
        ],
        "create a stack set that runs as a privileged administration role",
    ),
    path(
        "PassRoleToUpdateCloudFormationStackSet",
        &["iam:PassRole", "cloudformation:UpdateStackSet"],
        "update a stack set to run as a privileged administration role",
    ),
    path(
        "PassExistingRoleToNewCodeBuildProjectThenBuildBatch",
        &[
            "iam:PassRole",
            "codebuild:CreateProject",
            "codebuild:StartBuildBatch",
        ],
        "create a CodeBuild project with a privileged service role and start a batch build",
    ),
    path(
        "PassExistingRoleToNewEC2SpotInstance",
        &["iam:PassRole", "ec2:RequestSpotInstances"],
        "request a spot instance with a privileged instance profile and use its credentials",
    ),
    path(
        "PassExistingRoleToNewECSService",
        &[
            "iam:PassRole",
            "ecs:RegisterTaskDefinition",
            "ecs:CreateService",
        ],
        "register a task definition with a privileged task role and run it as a service",
    ),
    path(
        "PassExistingRoleToNewECSTaskViaStartTask",
        &[
            "iam:PassRole",
            "ecs:RegisterTaskDefinition",
            "ecs:StartTask",
        ],
        "register a task definition with a privileged task role and start it",
    ),
    path(
        "PassExistingRoleToNewGlueJobThenRun",
        &["iam:PassRole", "glue:CreateJob", "glue:StartJobRun"],
        "create a Glue job with a privileged role and run it",
    ),
    path(
        "PassExistingRoleToNewGlueJobViaTrigger",
        &["iam:PassRole", "glue:CreateJob", "glue:CreateTrigger"],
        "create a Glue job with a privileged role and a trigger that runs it",
    ),
    path(
        "PassExistingRoleToUpdatedGlueJobThenRun",
        &["iam:PassRole", "glue:UpdateJob", "glue:StartJobRun"],
        "point an existing Glue job at a privileged role and run it",
    ),
    path(
        "PassExistingRoleToUpdatedGlueJobViaTrigger",
        &["iam:PassRole", "glue:UpdateJob", "glue:CreateTrigger"],
        "point an existing Glue job at a privileged role and trigger it",
    ),
    path(
        "PassExistingRoleToNewLambdaThenAddPermission",
        &[
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:AddPermission",
        ],
        "create a Lambda function with a privileged role and let itself invoke it",
    ),
    path(
        "PassExistingRoleToNewSageMakerTrainingJob",
        &["iam:PassRole", "sagemaker:CreateTrainingJob"],
        "run a SageMaker training job (its code) with a privileged role",
    ),
    path(
        "PassExistingRoleToNewSageMakerProcessingJob",
        &["iam:PassRole", "sagemaker:CreateProcessingJob"],
        "run a SageMaker processing job (its code) with a privileged role",
    ),
];

/// Every action any path needs (deduplicated, catalogue order).
pub fn actions() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for p in PATHS {
        for a in p.actions {
            if !out.contains(a) {
                out.push(a);
            }
        }
    }
    out
}

/// The catalogue's actions with their index in [`actions`], and each path's actions as a set
/// of those indexes (bit `i` = action `i`): checking an identity's paths is then one mask test
/// per path.
struct Index {
    actions: std::collections::HashMap<&'static str, usize>,
    paths: Vec<u128>,
}

fn index() -> &'static Index {
    static INDEX: std::sync::OnceLock<Index> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| {
        let actions: std::collections::HashMap<_, _> = actions()
            .into_iter()
            .enumerate()
            .map(|(i, a)| (a, i))
            .collect();
        assert!(actions.len() <= 128, "the path masks hold 128 actions");
        let paths = PATHS
            .iter()
            .map(|p| p.actions.iter().fold(0u128, |m, a| m | 1 << actions[a]))
            .collect();
        Index { actions, paths }
    })
}

/// The index of a catalogue action in [`actions`] (exact spelling), `None` for others.
pub fn action_index(action: &str) -> Option<usize> {
    index().actions.get(action).copied()
}

/// The paths whose every action is in `held`, a set of [`action_index`]es as a bit mask.
pub fn enabled_by_mask(held: u128) -> impl Iterator<Item = &'static PrivescPath> {
    PATHS
        .iter()
        .zip(&index().paths)
        .filter(move |(_, m)| held & **m == **m)
        .map(|(p, _)| p)
}

/// The paths enabled by a set of granted catalogue actions (exact catalogue spellings).
pub fn enabled<'a>(
    granted: impl Fn(&str) -> bool + 'a,
) -> impl Iterator<Item = &'static PrivescPath> + 'a {
    PATHS
        .iter()
        .filter(move |p| p.actions.iter().all(|a| granted(a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_need_every_action() {
        let granted = ["iam:PassRole", "lambda:CreateFunction"];
        let names: Vec<_> = enabled(|a| granted.contains(&a)).map(|p| p.name).collect();
        assert!(names.is_empty(), "{names:?}");
        let granted = [
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
        ];
        let names: Vec<_> = enabled(|a| granted.contains(&a)).map(|p| p.name).collect();
        assert_eq!(names, ["PassExistingRoleToNewLambdaThenInvoke"]);
    }

    #[test]
    fn masks_agree_with_the_catalogue() {
        let granted = [
            "iam:PassRole",
            "lambda:CreateFunction",
            "lambda:InvokeFunction",
        ];
        let mask = granted.iter().fold(0u128, |m, a| {
            m | 1 << action_index(a).expect("a catalogue action")
        });
        let by_mask: Vec<_> = enabled_by_mask(mask).map(|p| p.name).collect();
        let by_set: Vec<_> = enabled(|a| granted.contains(&a)).map(|p| p.name).collect();
        assert_eq!(by_mask, by_set);
        assert_eq!(action_index("s3:GetObject"), None);
        assert_eq!(enabled_by_mask(0).count(), 0);
        assert_eq!(enabled_by_mask(u128::MAX).count(), PATHS.len());
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = PATHS.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PATHS.len());
    }
}
