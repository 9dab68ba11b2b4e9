//! Known AWS IAM privilege-escalation combinations (Rhino Security Labs' catalogue, as also
//! used by Cloudsplaining and Pacu): an identity holding every action of one combination can
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
    fn names_are_unique() {
        let mut names: Vec<_> = PATHS.iter().map(|p| p.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), PATHS.len());
    }
}
