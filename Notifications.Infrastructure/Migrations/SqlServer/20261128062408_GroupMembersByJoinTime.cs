using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Notifications.Infrastructure.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class GroupMembersByJoinTime : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateIndex(
                name: "IX_GroupMembers_GroupName_JoinedAt",
                table: "GroupMembers",
                columns: new[] { "GroupName", "JoinedAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_GroupMembers_GroupName_JoinedAt",
                table: "GroupMembers");
        }
    }
}
