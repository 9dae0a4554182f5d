using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IdentityServer.Migrations.PostgreSql.Migrations
{
    /// <inheritdoc />
    public partial class AddClientAuthenticationThrottled : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<bool>(
                name: "Throttled",
                table: "ClientAuthenticationFailures",
                type: "boolean",
                nullable: false,
                defaultValue: false);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "Throttled",
                table: "ClientAuthenticationFailures");
        }
    }
}
