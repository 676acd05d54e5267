using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Notifications.Api.Auth;

namespace Notifications.Api.Groups;

public static class GroupEndpoints
{
    public static RouteGroupBuilder MapGroupEndpoints(this IEndpointRouteBuilder app)
    {
        var groups = app.MapGroup("/api/groups").RequireAuthorization().WithTags("Groups");
        groups.MapGet("/", ListAsync);
        groups.MapGet("/{name}", GetAsync);
        groups.MapPost("/", CreateAsync);
        groups.MapPut("/{name}/members/{userId}", AddMemberAsync);
        groups.MapDelete("/{name}/members/{userId}", RemoveMemberAsync);
        return groups;
    }

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
