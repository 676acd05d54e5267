using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Notifications.Api.Auth;
using Notifications.Api.OpenApi;

namespace Notifications.Api.Groups;

public static class GroupEndpoints
{
    // A restricted group the caller may not see is answered as missing (see GroupRules.MaySeeGroup).
    private const string NotVisible = "No such group, or a restricted group the caller is not a member of.";

    public static RouteGroupBuilder MapGroupEndpoints(this IEndpointRouteBuilder app)
    {
        var groups = app.MapGroup("/api/groups").RequireAuthorization().WithTags("Groups").DeclaresApiProblems();
        groups.MapGet("/", ListAsync);
        groups.MapGet("/{name}", GetAsync).DeclaresProblem(StatusCodes.Status404NotFound, NotVisible);
        groups.MapPost("/", CreateAsync)
            .DeclaresValidationProblem("The name or kind is missing or not valid, or the body is not valid JSON.")
            .DeclaresProblem(StatusCodes.Status403Forbidden, "Creating groups needs the admin role.")
            .DeclaresProblem(StatusCodes.Status409Conflict, "A group of this name exists already.");
        groups.MapPut("/{name}/members/{userId}", AddMemberAsync).DeclaresMembershipProblems();
        groups.MapDelete("/{name}/members/{userId}", RemoveMemberAsync).DeclaresMembershipProblems();
        return groups;
    }

    private static RouteHandlerBuilder DeclaresMembershipProblems(this RouteHandlerBuilder endpoint) => endpoint
        .DeclaresProblem(StatusCodes.Status400BadRequest, "The group name or the user id is not valid.")
        .DeclaresProblem(StatusCodes.Status403Forbidden, "Only an admin changes a restricted group's members; in an open group users add and remove only themselves.")
        .DeclaresProblem(StatusCodes.Status404NotFound, NotVisible);

    private static async Task<Ok<GroupList>> ListAsync(ClaimsPrincipal user, MembershipService memberships, CancellationToken ct) =>
        TypedResults.Ok(new GroupList(await memberships.ListAsync(user.ToViewer(), ct)));

    private static async Task<Ok<GroupDto>> GetAsync(string name, ClaimsPrincipal user, MembershipService memberships, CancellationToken ct) =>
        TypedResults.Ok(await memberships.FindAsync(user.ToViewer(), name, ct));

    private static async Task<Created<GroupDto>> CreateAsync(CreateGroupRequest request, ClaimsPrincipal user, MembershipService memberships, CancellationToken ct)
    {
        var group = await memberships.CreateAsync(user.ToViewer(), request.Name!, GroupKinds.Parse(request.Kind!), ct);
        return TypedResults.Created($"/api/groups/{Uri.EscapeDataString(group.Name)}", group);
    }

    private static async Task<NoContent> AddMemberAsync(string name, string userId, ClaimsPrincipal user, MembershipService memberships, CancellationToken ct)
    {
        await memberships.AddMemberAsync(user.ToViewer(), name, userId, viaSubscribe: false, ct);
        return TypedResults.NoContent();
    }

    private static async Task<NoContent> RemoveMemberAsync(string name, string userId, ClaimsPrincipal user, MembershipService memberships, CancellationToken ct)
    {
        await memberships.RemoveMemberAsync(user.ToViewer(), name, userId, ct);
        return TypedResults.NoContent();
    }
}
