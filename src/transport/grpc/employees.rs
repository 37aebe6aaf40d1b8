//! `orgadm.v1.EmployeeService`, `InvitationService` and `AccessGroupService`.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::convert::{
    change_employee_state, change_invitation, group_name, invitation_out, org_oid, person_oid,
};
use super::pb::{
    self, access_group_service_server::AccessGroupService,
    employee_service_server::EmployeeService, invitation_service_server::InvitationService,
};
use crate::service::employees::StateChange;
use crate::service::groups::Membership;
use crate::service::invitations::InvitationChange;
use crate::service::{Core, ServiceError};

pub struct EmployeeApi {
    pub core: Core,
}

pub struct InvitationApi {
    pub core: Core,
}

pub struct AccessGroupApi {
    pub core: Core,
}

#[tonic::async_trait]
impl EmployeeService for EmployeeApi {
    async fn list_employees(
        &self,
        req: Request<pb::ListEmployeesRequest>,
    ) -> Result<Response<pb::ListEmployeesResponse>, Status> {
        let caller = caller(&req)?;
        let q = req.into_inner().try_into()?;
        let page = self.core.list_employees(&caller, q).await?;
        Ok(Response::new(pb::ListEmployeesResponse {
            employees: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn get_employee(
        &self,
        req: Request<pb::GetEmployeeRequest>,
    ) -> Result<Response<pb::Employee>, Status> {
        let caller = caller(&req)?;
        let pb::GetEmployeeRequest {
            organization_oid,
            person_oid: person,
        } = req.into_inner();
        let (org, person) = (org_oid(organization_oid)?, person_oid(person)?);
        Ok(Response::new(
            self.core.get_employee(&caller, org, person).await?.into(),
        ))
    }

    async fn update_employee(
        &self,
        req: Request<pb::UpdateEmployeeRequest>,
    ) -> Result<Response<pb::Employee>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        Ok(Response::new(
            self.core.update_employee(&caller, cmd).await?.into(),
        ))
    }

    async fn block_employee(
        &self,
        req: Request<pb::ChangeEmployeeStateRequest>,
    ) -> Result<Response<pb::Employee>, Status> {
        let caller = caller(&req)?;
        let cmd = change_employee_state(req.into_inner(), StateChange::Block)?;
        Ok(Response::new(
            self.core.change_employee_state(&caller, cmd).await?.into(),
        ))
    }

    async fn unblock_employee(
        &self,
        req: Request<pb::ChangeEmployeeStateRequest>,
    ) -> Result<Response<pb::Employee>, Status> {
        let caller = caller(&req)?;
        let cmd = change_employee_state(req.into_inner(), StateChange::Unblock)?;
        Ok(Response::new(
            self.core.change_employee_state(&caller, cmd).await?.into(),
        ))
    }

    async fn dismiss_employee(
        &self,
        req: Request<pb::ChangeEmployeeStateRequest>,
    ) -> Result<Response<pb::Employee>, Status> {
        let caller = caller(&req)?;
        let cmd = change_employee_state(req.into_inner(), StateChange::Dismiss)?;
        Ok(Response::new(
            self.core.change_employee_state(&caller, cmd).await?.into(),
        ))
    }

    async fn leave_organization(
        &self,
        req: Request<pb::LeaveOrganizationRequest>,
    ) -> Result<Response<pb::Employee>, Status> {
        let caller = caller(&req)?;
        let pb::LeaveOrganizationRequest { organization_oid } = req.into_inner();
        let org = org_oid(organization_oid)?;
        Ok(Response::new(
            self.core.leave_organization(&caller, org).await?.into(),
        ))
    }
}

#[tonic::async_trait]
impl InvitationService for InvitationApi {
    async fn create_invitation(
        &self,
        req: Request<pb::CreateInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        let inv = self.core.create_invitation(&caller, cmd).await?;
        Ok(Response::new(invitation_out(inv, self.core.clock.now())))
    }

    async fn get_invitation(
        &self,
        req: Request<pb::GetInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let caller = caller(&req)?;
        let pb::GetInvitationRequest {
            organization_oid,
            id,
        } = req.into_inner();
        let org = org_oid(organization_oid)?;
        if id.trim().is_empty() {
            return Err(ServiceError::invalid("id", "is required").into());
        }
        let inv = self
            .core
            .get_invitation(&caller, org, id.trim().to_owned())
            .await?;
        Ok(Response::new(invitation_out(inv, self.core.clock.now())))
    }

    async fn list_invitations(
        &self,
        req: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        let caller = caller(&req)?;
        let q = req.into_inner().try_into()?;
        let page = self.core.list_invitations(&caller, q).await?;
        let now = self.core.clock.now();
        Ok(Response::new(pb::ListInvitationsResponse {
            invitations: page
                .items
                .into_iter()
                .map(|i| invitation_out(i, now))
                .collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn resend_invitation(
        &self,
        req: Request<pb::ChangeInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let caller = caller(&req)?;
        let cmd = change_invitation(req.into_inner(), InvitationChange::Resend)?;
        let inv = self.core.change_invitation(&caller, cmd).await?;
        Ok(Response::new(invitation_out(inv, self.core.clock.now())))
    }

    async fn revoke_invitation(
        &self,
        req: Request<pb::ChangeInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let caller = caller(&req)?;
        let cmd = change_invitation(req.into_inner(), InvitationChange::Revoke)?;
        let inv = self.core.change_invitation(&caller, cmd).await?;
        Ok(Response::new(invitation_out(inv, self.core.clock.now())))
    }

    async fn accept_invitation(
        &self,
        req: Request<pb::AcceptInvitationRequest>,
    ) -> Result<Response<pb::Employee>, Status> {
        let caller = caller(&req)?;
        let pb::AcceptInvitationRequest { secret } = req.into_inner();
        Ok(Response::new(
            self.core.accept_invitation(&caller, &secret).await?.into(),
        ))
    }

    async fn decline_invitation(
        &self,
        req: Request<pb::DeclineInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let caller = caller(&req)?;
        let pb::DeclineInvitationRequest { secret } = req.into_inner();
        let inv = self.core.decline_invitation(&caller, &secret).await?;
        Ok(Response::new(invitation_out(inv, self.core.clock.now())))
    }
}

#[tonic::async_trait]
impl AccessGroupService for AccessGroupApi {
    async fn create_group(
        &self,
        req: Request<pb::CreateGroupRequest>,
    ) -> Result<Response<pb::AccessGroup>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        Ok(Response::new(
            self.core.create_group(&caller, cmd).await?.into(),
        ))
    }

    async fn get_group(
        &self,
        req: Request<pb::GetGroupRequest>,
    ) -> Result<Response<pb::AccessGroup>, Status> {
        let caller = caller(&req)?;
        let pb::GetGroupRequest {
            organization_oid,
            mnemonic,
        } = req.into_inner();
        let (org, m) = (org_oid(organization_oid)?, group_name(&mnemonic)?);
        Ok(Response::new(
            self.core.get_group(&caller, org, m).await?.into(),
        ))
    }

    async fn list_groups(
        &self,
        req: Request<pb::ListGroupsRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListGroupsRequest {
            organization_oid,
            page_size,
            page_token,
        } = req.into_inner();
        let org = org_oid(organization_oid)?;
        let page = self
            .core
            .list_groups(&caller, org, page_size, page_token)
            .await?;
        Ok(Response::new(pb::ListGroupsResponse {
            groups: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn update_group(
        &self,
        req: Request<pb::UpdateGroupRequest>,
    ) -> Result<Response<pb::AccessGroup>, Status> {
        let caller = caller(&req)?;
        let cmd = req.into_inner().try_into()?;
        Ok(Response::new(
            self.core.update_group(&caller, cmd).await?.into(),
        ))
    }

    async fn add_group_member(
        &self,
        req: Request<pb::GroupMemberRequest>,
    ) -> Result<Response<pb::AccessGroup>, Status> {
        self.membership(req, Membership::Add).await
    }

    async fn remove_group_member(
        &self,
        req: Request<pb::GroupMemberRequest>,
    ) -> Result<Response<pb::AccessGroup>, Status> {
        self.membership(req, Membership::Remove).await
    }

    async fn list_group_members(
        &self,
        req: Request<pb::ListGroupMembersRequest>,
    ) -> Result<Response<pb::ListEmployeesResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListGroupMembersRequest {
            organization_oid,
            mnemonic,
            page_size,
            page_token,
        } = req.into_inner();
        let q = crate::service::employees::ListEmployees {
            organization_oid: org_oid(organization_oid)?,
            filter: crate::service::employees::EmployeeFilter {
                group: Some(group_name(&mnemonic)?),
                ..Default::default()
            },
            page_size,
            page_token,
        };
        let page = self.core.list_employees(&caller, q).await?;
        Ok(Response::new(pb::ListEmployeesResponse {
            employees: page.items.into_iter().map(Into::into).collect(),
            next_page_token: page.next_page_token,
        }))
    }

    async fn list_person_groups(
        &self,
        req: Request<pb::ListPersonGroupsRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        let caller = caller(&req)?;
        let pb::ListPersonGroupsRequest {
            organization_oid,
            person_oid: person,
        } = req.into_inner();
        let (org, person) = (org_oid(organization_oid)?, person_oid(person)?);
        let groups = self.core.person_groups(&caller, org, person).await?;
        Ok(Response::new(pb::ListGroupsResponse {
            groups: groups.into_iter().map(Into::into).collect(),
            next_page_token: String::new(),
        }))
    }
}

impl AccessGroupApi {
    async fn membership(
        &self,
        req: Request<pb::GroupMemberRequest>,
        change: Membership,
    ) -> Result<Response<pb::AccessGroup>, Status> {
        let caller = caller(&req)?;
        let pb::GroupMemberRequest {
            organization_oid,
            mnemonic,
            person_oid: person,
        } = req.into_inner();
        let (org, m, person) = (
            org_oid(organization_oid)?,
            group_name(&mnemonic)?,
            person_oid(person)?,
        );
        Ok(Response::new(
            self.core
                .change_membership(&caller, org, m, person, change)
                .await?
                .into(),
        ))
    }
}
